"""The asyncio client, for the triggerer: ``httpx.AsyncClient`` (shared per event loop) moves the bytes.

Same verbs and same decisions as :class:`~.sync_client.OperationsClient` (they share the plans, the retry
policy and the parsers); what differs is only awaiting instead of blocking. Nothing here blocks the event loop:
token refreshes run in a worker thread (see :mod:`.auth`).
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import httpx

from . import pool
from .auth import AsyncTokenSource, CredentialsTokenSource, StaticTokenSource
from .client_base import ClientBase, emulator_host_from_env, user_agent
from .errors import ConnectionFailed, OperationsError, RequestTimeout
from .model import Operation
from .names import CollectionRef, OperationRef
from .plans import Emit, Plan, Send, Sleep

T = TypeVar("T")


class AsyncOperationsClient(ClientBase):
    """The async twin of :class:`OperationsClient`. Use as ``async with AsyncOperationsClient(...) as client``.

    By default it leases the running loop's shared connection pool (see :mod:`.pool`); pass ``http_client`` to
    use your own (then you close it). ``token_source`` overrides how requests are authorised; by default:
    the emulator's static token when an emulator is configured, else ``credentials`` (or ADC).
    """

    def __init__(
        self,
        *,
        credentials: Any = None,
        token_source: AsyncTokenSource | None = None,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        **settings: Any,
    ) -> None:
        if "emulator_host" not in settings:
            settings["emulator_host"] = emulator_host_from_env()
        super().__init__(**settings)
        self._sleep = sleep
        self._credentials = credentials
        self._tokens = token_source
        self._own_http = None if http_client is None else pool.private(http_client)
        self._http: pool.SharedHttp | None = self._own_http
        self._leased = False

    async def __aenter__(self) -> AsyncOperationsClient:
        await self._ensure_open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _ensure_open(self) -> pool.SharedHttp:
        if self._tokens is None:
            self._tokens = await self._default_tokens()
        if self._http is None:
            self._http = pool.acquire()
            self._leased = True
        return self._http

    async def _default_tokens(self) -> AsyncTokenSource:
        credentials = self._credentials
        if self.base_url is not None and credentials is None:
            return StaticTokenSource()
        if credentials is None:
            import google.auth

            from .auth import CLOUD_PLATFORM_SCOPE

            # ADC discovery may read files and call the metadata server: off the loop.
            credentials, _ = await asyncio.to_thread(google.auth.default, scopes=[CLOUD_PLATFORM_SCOPE])
        return CredentialsTokenSource(credentials)

    async def aclose(self) -> None:
        http, leased = self._http, self._leased
        self._http, self._leased = self._own_http, False
        if http is not None and leased:
            await pool.release(http)

    # -- the verbs ---------------------------------------------------------------------------------------------
    async def get(self, name: str | OperationRef, **kw: Any) -> Operation:
        return await self._run(self.get_plan(name, **kw))

    async def cancel(self, name: str | OperationRef, **kw: Any) -> None:
        await self._run(self.cancel_plan(name, **kw))

    async def delete(self, name: str | OperationRef, **kw: Any) -> None:
        await self._run(self.delete_plan(name, **kw))

    async def start(self, method: str, path: str, **kw: Any) -> Operation:
        """Call a Google method that returns an Operation (see :meth:`ClientBase.start_plan`); returns it as sent."""
        return await self._run(self.start_plan(method, path, **kw))

    async def wait(self, name: str | OperationRef, **kw: Any) -> Operation:
        """Until done or the deadline (``timeout=`` seconds or ``deadline=`` monotonic): then ``WaitTimeout``."""
        return await self._run(self.wait_plan(name, **kw))

    def list(self, parent: str | CollectionRef, **kw: Any) -> AsyncOperationPager:
        """Every operation under ``parent`` (``async for``); ``.unreachable`` after iterating."""
        return AsyncOperationPager(self, self.list_plan(parent, **kw))

    # -- the driver ----------------------------------------------------------------------------------------
    async def _run(self, plan: Plan[T]) -> T:
        box: builtins.list[T] = []
        async for _ in self._drive(plan, box):
            raise AssertionError("a single-result plan emitted items")  # pragma: no cover
        return box[0]

    async def _drive(self, plan: Plan[T], box: builtins.list[T]) -> AsyncGenerator[Emit, None]:
        """Carry out a plan's actions; yields its :class:`Emit` actions; appends its result to ``box``."""
        try:
            action = next(plan)
            while True:
                try:
                    result = await self._perform(action)
                    if isinstance(action, Emit):
                        yield action
                except OperationsError as exc:
                    action = plan.throw(exc)
                    continue
                action = plan.send(result)
        except StopIteration as stop:
            box.append(stop.value)
        finally:
            plan.close()

    async def _perform(self, action: Send[Any] | Sleep | Emit) -> Any:
        if isinstance(action, Sleep):
            await self._sleep(action.seconds)
            return None
        if isinstance(action, Emit):
            return None
        return await self._execute(action)

    async def _execute(self, send: Send[T]) -> T:
        async for attempt in self.policy_for(send).async_retrying(sleep=self._sleep, clock=self.clock):
            with attempt:
                status, headers, body = await self._transmit(send)
                return send.parse(status, headers, body, send.request)
        raise AssertionError("unreachable: async_retrying() re-raises the last error")  # pragma: no cover

    async def _transmit(self, send: Send[Any]) -> tuple[int, Mapping[str, str], bytes]:
        http = await self._ensure_open()
        assert self._tokens is not None
        headers = await self._tokens.headers()
        response = await self._send_once(http, send, headers)
        if response.status_code == 401 and await self._tokens.refresh_after_unauthenticated(headers):
            # One refresh, one more try; a second 401 stands (AIP-194: UNAUTHENTICATED is not retried).
            response = await self._send_once(http, send, await self._tokens.headers())
        return response.status_code, response.headers, response.content

    async def _send_once(self, http: pool.SharedHttp, send: Send[Any], auth: dict[str, str]) -> httpx.Response:
        request = send.request
        read = self.read_timeout(send)
        timeout = httpx.Timeout(connect=self.timeouts.connect, read=read, write=read, pool=read)
        try:
            async with http.slot(self.pool_timeout(send)) as client:
                return await client.request(
                    request.method,
                    request.url(self.base_url),
                    json=request.json if request.has_body else None,
                    headers={**auth, "User-Agent": user_agent()},
                    timeout=timeout,
                )
        except asyncio.TimeoutError:
            raise RequestTimeout(
                "timed out waiting for a free connection", method=request.method, url=request.describe_url
            ) from None
        except httpx.TimeoutException as exc:
            raise RequestTimeout(
                f"timed out: {exc.__class__.__name__}", method=request.method, url=request.describe_url
            ) from None
        except httpx.TransportError as exc:
            raise ConnectionFailed(
                f"connection failed: {exc.__class__.__name__}", method=request.method, url=request.describe_url
            ) from None


class AsyncOperationPager:
    """``async for op in client.list(...)``: fetches the next page only when you reach it."""

    def __init__(self, client: AsyncOperationsClient, plan: Plan[tuple[str, ...]]) -> None:
        self._client = client
        self._plan = plan
        self.unreachable: tuple[str, ...] = ()

    async def __aiter__(self) -> AsyncIterator[Operation]:
        box: builtins.list[tuple[str, ...]] = []
        steps = self._client._drive(self._plan, box)
        try:
            async for emit in steps:
                for op in emit.items:
                    yield op
        finally:
            await steps.aclose()
        if box:
            self.unreachable = box[0]

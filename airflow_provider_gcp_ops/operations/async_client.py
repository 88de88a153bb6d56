"""The asyncio client, for the triggerer: an ``aiohttp.ClientSession`` (shared per event loop) moves the bytes.

Same verbs and same decisions as :class:`~.sync_client.OperationsClient` (they share the plans, the retry
policy and the parsers); what differs is only awaiting instead of blocking. Nothing here blocks the event loop:
token refreshes run in a worker thread (see :mod:`.auth`).
"""

from __future__ import annotations

import asyncio
import builtins
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import aiohttp

from . import grid_sleep, pool
from .auth import AsyncTokenSource, CredentialsTokenSource, StaticTokenSource, raise_auth_error
from .client_base import MIN_READ_TIMEOUT_S, ClientBase, emulator_host_from_env, user_agent
from .deadline import CALL_DEADLINE
from .errors import ConnectionFailed, OperationsError, RequestTimeout
from .limits import ACCEPT_ENCODING, MAX_BODY_BYTES, READ_CHUNK, BodyDecoder
from .model import Operation
from .names import CollectionRef, OperationRef
from .pacing import Pacer
from .plans import Emit, Plan, Send, Sleep

T = TypeVar("T")


class AsyncOperationsClient(ClientBase):
    """The async twin of :class:`OperationsClient`. Use as ``async with AsyncOperationsClient(...) as client``.

    By default it leases the running loop's shared session (see :mod:`.pool`); pass ``http_client`` (an
    ``aiohttp.ClientSession``) to use your own (then you close it). ``token_source`` overrides how requests are
    authorised; by default: the emulator's static token when an emulator is configured, else ``credentials``
    (or ADC). ``pacer`` (also settable as the attribute, e.g. on a client from the hook): every attempt waits for
    its admission time and reports whether it was answered 429 (see :mod:`.pacing`); ``None``: unpaced.
    """

    def __init__(
        self,
        *,
        credentials: Any = None,
        token_source: AsyncTokenSource | None = None,
        http_client: aiohttp.ClientSession | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        pacer: Pacer | None = None,
        **settings: Any,
    ) -> None:
        if "emulator_host" not in settings:
            settings["emulator_host"] = emulator_host_from_env()
        super().__init__(**settings)
        self._sleep = sleep
        self.pacer = pacer
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
            return _EMULATOR_TOKENS
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
        """Carry out a single-result plan. A plain loop, not :meth:`_drive`'s async generator: a waiting trigger
        sits in here between polls, and every frame it keeps is walked by each full garbage collection."""
        try:
            action = next(plan)
            while True:
                if isinstance(action, Sleep):  # awaited here, not in _perform: one frame fewer while waiting
                    if action.until is not None and self._sleep is asyncio.sleep and self.clock is time.monotonic:
                        # On a wake grid: one timer for every wait on this loop that wakes at that instant.
                        await grid_sleep.sleep_until(action.until, action.seconds)
                    else:
                        await self._sleep(action.seconds)
                    action = plan.send(None)
                    continue
                if isinstance(action, Emit):
                    raise AssertionError("a single-result plan emitted items")  # pragma: no cover
                try:
                    result = await self._execute(action)
                except OperationsError as exc:
                    action = plan.throw(exc)
                    continue
                action = plan.send(result)
        except StopIteration as stop:
            value: T = stop.value
            return value
        finally:
            plan.close()

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
        attempt, started = 1, self.clock()
        while True:
            try:
                status, headers, body = await (self._transmit(send) if self.pacer is None else self._paced(send))
                return send.parse(status, headers, body, send.request)
            except OperationsError as exc:
                delay = self.retry_sleep(send, exc, attempt=attempt, started=started)
                if delay is None:
                    raise
            await self._sleep(delay)
            attempt += 1

    async def _transmit(self, send: Send[Any]) -> tuple[int, Mapping[str, str], bytes]:
        http = self._http if self._http is not None and self._tokens is not None else await self._ensure_open()
        assert self._tokens is not None
        until = self.attempt_deadline(send)
        # A token refresh runs in a worker thread; asyncio.to_thread copies this context, so the attempt's
        # deadline bounds the refresh too (see .deadline).
        token = CALL_DEADLINE.set(until)
        try:
            headers = await self._tokens.headers()
            response = await self._send_once(http, send, headers, until)
            if response[0] == 401 and await self._tokens.refresh_after_unauthenticated(headers):
                # One refresh, one more try; a second 401 stands (AIP-194: UNAUTHENTICATED is not retried).
                response = await self._send_once(http, send, await self._tokens.headers(), until)
        except OperationsError:
            raise
        except Exception as exc:  # _send_once raises only library errors: this is the token source's
            raise_auth_error(exc, send.request.method, send.request.describe_url)
            raise
        finally:
            CALL_DEADLINE.reset(token)
        return response

    async def _paced(self, send: Send[Any]) -> tuple[int, Mapping[str, str], bytes]:
        """One attempt at the pacer's admission time; the pacer hears whether the quota admitted it."""
        pacer = self.pacer
        assert pacer is not None
        now = self.clock()
        at = pacer.reserve(now)
        if at > now:
            await self._sleep(at - now)
        response = await self._transmit(send)  # a transport failure tells nothing about the quota
        pacer.observe(self.clock(), throttled=response[0] == 429)
        return response

    async def _send_once(
        self, http: pool.SharedHttp, send: Send[Any], auth: dict[str, str], until: float
    ) -> tuple[int, Mapping[str, str], bytes]:
        request = send.request
        read = self.read_timeout(send)
        left = max(MIN_READ_TIMEOUT_S, until - time.monotonic())
        # sock_connect bounds opening a connection, sock_read every wait for response bytes; total (the
        # connect plus a write and a read, as each is bounded alone) the whole attempt, never past the attempt's
        # deadline (a server that drips one byte a second ends there). Exact: no rounding up.
        connect = self.connect_timeout(send)
        timeout = aiohttp.ClientTimeout(
            total=min(connect + 2 * read, left),
            sock_connect=min(connect, left),
            sock_read=read,
            ceil_threshold=_NO_ROUNDING,
        )
        url = request.url(self.base_url)
        auth["User-Agent"] = user_agent()
        auth["Accept-Encoding"] = ACCEPT_ENCODING
        gate = http.gate
        try:
            await pool.acquire_within(gate, self.pool_timeout(send))
        except asyncio.TimeoutError:
            raise RequestTimeout(
                "timed out waiting for a free connection", method=request.method, url=request.describe_url
            ) from None
        try:
            async with http.session.request(
                request.method,
                url,
                json=request.json if request.has_body else None,
                headers=auth,
                timeout=timeout,
                allow_redirects=False,
                auto_decompress=False,  # BodyDecoder decompresses, with a cap on the decompressed size
                proxy=http.proxy_for(self.base_url or request.host, url),
            ) as response:
                length = response.content_length
                if length is not None and length <= MAX_BODY_BYTES and "Content-Encoding" not in response.headers:
                    # The common case, cheaper: a plain body of a declared, bounded size (aiohttp reads that many).
                    return response.status, response.headers, await response.read()
                decoder = BodyDecoder(response.headers.get("Content-Encoding"))
                async for chunk in response.content.iter_chunked(READ_CHUNK):
                    decoder.feed(chunk)
                return response.status, response.headers, decoder.finish()
        except OperationsError:  # the body decoder's: already typed
            raise
        except asyncio.TimeoutError as exc:  # aiohttp's ServerTimeoutError is one too
            raise RequestTimeout(
                f"timed out: {exc.__class__.__name__}", method=request.method, url=request.describe_url
            ) from None
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, aiohttp.ClientResponseError) as exc:
            # Refused, reset, closed mid-answer, a malformed response: the connection, not the server's word.
            raise ConnectionFailed(
                f"connection failed: {exc.__class__.__name__}", method=request.method, url=request.describe_url
            ) from None
        except ValueError as exc:  # a host yarl cannot encode (punycode that is not IDNA): never sent
            raise ConnectionFailed(
                f"invalid request URL: {exc.__class__.__name__}", method=request.method, url=request.describe_url
            ) from None
        finally:
            gate.release()


_EMULATOR_TOKENS = StaticTokenSource()  # immutable: one for every client on the emulator
_NO_ROUNDING = float("inf")  # aiohttp rounds timeouts above ``ceil_threshold`` up to a whole second


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

"""The blocking client, for workers: google-auth's ``AuthorizedSession`` (requests) moves the bytes.

All decisions (which request, how to parse it, whether to retry, how long to wait) come from the sans-IO
modules through :class:`~.client_base.ClientBase`; this module only sends, sleeps and maps transport errors.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import requests
from urllib3.exceptions import HTTPError as Urllib3Error

from . import deadline as bounded_io
from .auth import CLOUD_PLATFORM_SCOPE, EMULATOR_TOKEN, raise_auth_error
from .client_base import ClientBase, Timeouts, emulator_host_from_env, user_agent
from .errors import ConnectionFailed, OperationsError, RequestTimeout
from .limits import ACCEPT_ENCODING, READ_CHUNK, BodyDecoder
from .model import Operation
from .names import CollectionRef, OperationRef
from .plans import Emit, Plan, Send, Sleep
from .polling import PollSchedule
from .retry import RetryPolicy

T = TypeVar("T")


class OperationsClient(ClientBase):
    """``get`` / ``list`` / ``cancel`` / ``delete`` / ``wait`` over REST, with retries, timeouts and deadlines.

    ``credentials``: google-auth credentials (default: Application Default Credentials with the
    cloud-platform scope). With ``emulator_host`` (or ``$GCP_OPERATIONS_EMULATOR_HOST``) calls go over plain
    HTTP to the emulator, with a static token unless ``credentials`` are given explicitly.
    """

    def __init__(
        self,
        *,
        credentials: Any = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **settings: Any,
    ) -> None:
        if "emulator_host" not in settings:
            settings["emulator_host"] = emulator_host_from_env()
        super().__init__(**settings)
        self._sleep = sleep
        self._owns_session = session is None
        self._session = session if session is not None else self._make_session(credentials)

    def _make_session(self, credentials: Any) -> requests.Session:
        if self.base_url is not None and credentials is None:
            session = bounded_io.watched(requests.Session())
            session.headers["Authorization"] = f"Bearer {EMULATOR_TOKEN}"
        else:
            from google.auth.transport.requests import AuthorizedSession, Request

            from .redaction import install

            install()  # google-auth's DEBUG request logging must not carry our tokens

            if credentials is None:
                import google.auth

                credentials, _ = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
            # One refresh on 401, then the 401 stands (AIP-194: UNAUTHENTICATED is not retried).
            # The token refresh goes through a watched session too: the caller's deadline bounds it.
            session = AuthorizedSession(
                credentials,
                max_refresh_attempts=1,
                refresh_timeout=self.timeouts.read,
                auth_request=Request(bounded_io.watched(requests.Session())),
            )
            bounded_io.watched(session)
        session.headers["User-Agent"] = user_agent()
        session.headers["Accept-Encoding"] = ACCEPT_ENCODING
        return session

    def with_options(
        self, *, timeouts: Timeouts | None = None, retry: RetryPolicy | None = None, poll: PollSchedule | None = None
    ) -> OperationsClient:
        """This client with other timeouts, retry policy or poll schedule for the calls made through the result.

        Cheap (no new session, no new credentials): the copy shares this client's session and never closes it.
        For one call that needs other bounds than the client's (a quick cancel, a non-idempotent start).
        """
        view = copy.copy(self)
        view._owns_session = False
        view.timeouts = timeouts or self.timeouts
        view.retry = retry or self.retry
        view.poll = poll or self.poll
        return view

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> OperationsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the verbs ---------------------------------------------------------------------------------------------
    def get(self, name: str | OperationRef, **kw: Any) -> Operation:
        return self._run(self.get_plan(name, **kw))

    def cancel(self, name: str | OperationRef, **kw: Any) -> None:
        self._run(self.cancel_plan(name, **kw))

    def delete(self, name: str | OperationRef, **kw: Any) -> None:
        self._run(self.delete_plan(name, **kw))

    def start(self, method: str, path: str, **kw: Any) -> Operation:
        """Call a Google method that returns an Operation (see :meth:`ClientBase.start_plan`); returns it as sent."""
        return self._run(self.start_plan(method, path, **kw))

    def wait(self, name: str | OperationRef, **kw: Any) -> Operation:
        """Until done or the deadline (``timeout=`` seconds or ``deadline=`` monotonic): then ``WaitTimeout``."""
        return self._run(self.wait_plan(name, **kw))

    def list(self, parent: str | CollectionRef, **kw: Any) -> OperationPager:
        """Every operation under ``parent``, page by page as you iterate; ``.unreachable`` after iterating."""
        return OperationPager(self, self.list_plan(parent, **kw))

    # -- the driver ----------------------------------------------------------------------------------------
    def _run(self, plan: Plan[T]) -> T:
        steps = self._drive(plan)
        while True:
            try:
                next(steps)
            except StopIteration as stop:
                result: T = stop.value
                return result

    def _drive(self, plan: Plan[T]) -> Iterator[Emit]:
        """Carry out a plan's actions; yields its :class:`Emit` actions and returns the plan's result."""
        with _closing(plan):
            try:
                action = next(plan)
                while True:
                    try:
                        result = self._perform(action)
                        if isinstance(action, Emit):
                            yield action
                    except OperationsError as exc:
                        action = plan.throw(exc)
                        continue
                    action = plan.send(result)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]

    def _perform(self, action: Send[Any] | Sleep | Emit) -> Any:
        if isinstance(action, Sleep):
            self._sleep(action.seconds)
            return None
        if isinstance(action, Emit):
            return None
        return self._execute(action)

    def _execute(self, send: Send[T]) -> T:
        attempt, started = 1, self.clock()
        while True:
            try:
                status, headers, body = self._transmit(send)
                return send.parse(status, headers, body, send.request)
            except OperationsError as exc:
                delay = self.retry_sleep(send, exc, attempt=attempt, started=started)
                if delay is None:
                    raise
            self._sleep(delay)
            attempt += 1

    def _transmit(self, send: Send[Any]) -> tuple[int, Mapping[str, str], bytes]:
        """One attempt, bounded as a whole (connect, token refresh, headers, body) by :meth:`attempt_deadline`."""
        request = send.request
        with bounded_io.bounded(self.attempt_deadline(send)) as call:
            try:
                response = self._session.request(
                    request.method,
                    request.url(self.base_url),
                    json=request.json if request.has_body else None,
                    timeout=(self.connect_timeout(send), self.read_timeout(send)),
                    allow_redirects=False,
                    stream=True,
                )
                try:
                    body = _read_body(response)
                finally:
                    response.close()
            except OperationsError:
                raise
            except (requests.Timeout, Urllib3Error, requests.RequestException, OSError) as exc:
                timed_out = (call is not None and call.fired) or isinstance(exc, requests.Timeout)
                kind = RequestTimeout if timed_out else ConnectionFailed
                what = "timed out" if timed_out else "connection failed"
                where = {"method": request.method, "url": request.describe_url}
                raise kind(f"{what}: {exc.__class__.__name__}", **where) from None
            except Exception as exc:
                if call is not None and call.fired:
                    raise RequestTimeout(
                        f"timed out: {exc.__class__.__name__}", method=request.method, url=request.describe_url
                    ) from None
                raise_auth_error(exc, request.method, request.describe())
                raise
        return response.status_code, response.headers, body


def _read_body(response: requests.Response) -> bytes:
    """The body, decoded by :class:`~.limits.BodyDecoder` (size-capped after decompression), read in pieces."""
    decoder = BodyDecoder(response.headers.get("Content-Encoding"))
    for chunk in response.raw.stream(READ_CHUNK, decode_content=False):
        decoder.feed(chunk)
    return decoder.finish()


class OperationPager:
    """Iterates every operation of a listing; fetches the next page only when you reach it."""

    def __init__(self, client: OperationsClient, plan: Plan[tuple[str, ...]]) -> None:
        self._client = client
        self._plan = plan
        self.unreachable: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Operation]:
        steps = self._client._drive(self._plan)
        while True:
            try:
                emit = next(steps)
            except StopIteration as stop:
                self.unreachable = stop.value
                return
            yield from emit.items


class _closing:
    """Close a plan generator on the way out, also when the caller abandons an iteration."""

    def __init__(self, plan: Plan[Any]) -> None:
        self._plan = plan

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        self._plan.close()

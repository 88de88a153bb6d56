"""Where the ``Authorization`` header comes from: google-auth credentials, or a static token for the emulator.

The async side must never block the event loop: a token refresh is a blocking HTTPS call in google-auth, so it
runs in a worker thread, and only one refresh per token source is in flight at a time (thousands of triggers
sharing one credentials object must not start thousands of refreshes when the token expires).

Nothing here logs or formats a token: headers are built and handed to the transport, never to a logger.

A failed token refresh becomes one of the library's errors in one place, :func:`auth_error`, for both clients:
google-auth's ``RefreshError`` flagged ``retryable`` (the token endpoint answered 5xx/429) and its
``TransportError`` (the endpoint could not be reached) are transient, so every wait rides them out like any
outage; any other ``RefreshError`` (a revoked key, a bad grant) is ``UNAUTHENTICATED``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Protocol

from .errors import ConnectionFailed, OperationsError, RequestTimeout, Unauthenticated, Unavailable

EMULATOR_TOKEN = "gcp-ops-emulator"  # noqa: S105 - a placeholder the emulator accepts, not a secret
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


class AsyncTokenSource(Protocol):
    async def headers(self) -> dict[str, str]:
        """Headers that authorise one request (refreshing first when the token has expired)."""

    async def refresh_after_unauthenticated(self, sent: dict[str, str]) -> bool:
        """A request sent with ``sent`` came back 401: refresh once. True when a retry is worth it."""


class StaticTokenSource:
    """A fixed bearer token (the emulator's convention): nothing to refresh."""

    def __init__(self, token: str = EMULATOR_TOKEN) -> None:
        self._headers = {"Authorization": f"Bearer {token}"}

    def __repr__(self) -> str:
        return "StaticTokenSource(<token hidden>)"

    async def headers(self) -> dict[str, str]:
        return dict(self._headers)

    async def refresh_after_unauthenticated(self, sent: dict[str, str]) -> bool:
        return False


class CredentialsTokenSource:
    """google-auth credentials for the async client: refresh off the loop, one refresh in flight."""

    def __init__(self, credentials: Any, *, refresh_timeout: float = 30.0) -> None:
        from .redaction import install

        install()  # google-auth's DEBUG request logging must not carry our tokens
        self._credentials = credentials
        self._refresh_timeout = refresh_timeout
        self._thread_lock = threading.Lock()  # google-auth credentials are not thread-safe to refresh
        self._inflight: dict[asyncio.AbstractEventLoop, asyncio.Future[None]] = {}

    def __repr__(self) -> str:
        return f"CredentialsTokenSource({type(self._credentials).__name__})"

    async def headers(self) -> dict[str, str]:
        if not self._credentials.valid:
            await self._refresh(stale_token=self._credentials.token)
        headers: dict[str, str] = {}
        # apply() sets Authorization and, when the credentials carry a quota project, x-goog-user-project.
        self._credentials.apply(headers)
        return headers

    async def refresh_after_unauthenticated(self, sent: dict[str, str]) -> bool:
        # google-auth's apply() writes "authorization" in lower case: look the header up case-insensitively.
        sent_value = next((v for k, v in sent.items() if k.lower() == "authorization"), "")
        sent_token = sent_value.removeprefix("Bearer ")
        await self._refresh(stale_token=sent_token)
        return True

    async def _refresh(self, *, stale_token: str | None) -> None:
        loop = asyncio.get_running_loop()
        pending = self._inflight.get(loop)
        if pending is None:
            pending = loop.create_future()
            self._inflight[loop] = pending
            try:
                await asyncio.to_thread(self._refresh_blocking, stale_token)
            except BaseException as exc:
                pending.set_exception(exc)
                pending.exception()  # mark retrieved: waiters re-raise it, the owner raises it below
                raise
            else:
                pending.set_result(None)
            finally:
                self._inflight.pop(loop, None)
        else:
            from . import deadline as bounded_io

            # Someone else is refreshing: wait for that one instead of starting another, within our own deadline.
            call_deadline = bounded_io.CALL_DEADLINE.get()
            if call_deadline is None:
                await asyncio.shield(pending)
                return
            try:
                async with asyncio.timeout(max(0.0, call_deadline - time.monotonic())):
                    await asyncio.shield(pending)
            except TimeoutError:
                raise RequestTimeout("timed out waiting for a token refresh", method=None, url=None) from None

    def _refresh_blocking(self, stale_token: str | None) -> None:
        import google.auth.transport.requests
        import requests

        from . import deadline as bounded_io

        # The caller's deadline (copied into this thread by asyncio.to_thread) bounds the whole refresh, also
        # against a token endpoint that drips; without one, the refresh timeout does.
        call_deadline = bounded_io.CALL_DEADLINE.get()
        until = time.monotonic() + self._refresh_timeout if call_deadline is None else call_deadline
        with self._thread_lock, bounded_io.bounded(until) as call:
            # Another thread (the sync client, or another loop) may have refreshed while we waited.
            if self._credentials.valid and self._credentials.token != stale_token:
                return
            with bounded_io.watched(requests.Session()) as session:
                request = google.auth.transport.requests.Request(session)
                try:
                    self._credentials.refresh(_TimeoutRequest(request, self._refresh_timeout))
                except Exception as exc:
                    if call is not None and (call.fired or call.remaining() <= bounded_io.MIN_TIMEOUT_S):
                        raise RequestTimeout(
                            f"token refresh timed out: {exc.__class__.__name__}", method=None, url=None
                        ) from None
                    raise_auth_error(exc, None, None)
                    raise


def auth_error(exc: BaseException, *, method: str | None = None, url: str | None = None) -> OperationsError | None:
    """google-auth's refresh failures as library errors (``None``: not one of them). Texts name only the class:
    google-auth's messages may quote the token endpoint's answer."""
    try:
        import google.auth.exceptions as gexc
    except ImportError:  # pragma: no cover - google-auth is a dependency
        return None
    name = type(exc).__name__
    if isinstance(exc, gexc.RefreshError):
        if getattr(exc, "retryable", False):
            return Unavailable(
                f"could not refresh Google credentials, the token endpoint is unavailable: {name}",
                method=method,
                url=url,
            )
        return Unauthenticated(f"could not refresh Google credentials: {name}", method=method, url=url)
    if isinstance(exc, gexc.TransportError):
        return ConnectionFailed(f"token endpoint unreachable: {name}", method=method, url=url)
    return None


class _TimeoutRequest:
    """google-auth's Request with a default timeout, so a token refresh can never hang."""

    def __init__(self, request: Any, timeout: float) -> None:
        self._request = request
        self._timeout = timeout

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self._timeout)
        return self._request(*args, **kwargs)


def raise_auth_error(exc: BaseException, method: str | None, url: str | None) -> None:
    """Raise :func:`auth_error`'s library error for ``exc`` (from ``None``: google-auth's text never travels);
    return when ``exc`` is not a google-auth refresh or transport error."""
    mapped = auth_error(exc, method=method, url=url)
    if mapped is not None:
        raise mapped from None

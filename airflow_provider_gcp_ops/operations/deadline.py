"""A deadline per *call* for blocking ``requests`` I/O (requests' own timeouts bound each socket read only).

A server that sends one byte per second, or ``100 Continue`` forever, never trips a per-read timeout. So every
blocking call runs inside :func:`bounded`: it caps each connect/read timeout by the time left, and a watchdog
timer shuts the call's sockets down when the deadline passes (the blocked read then fails at once, and the caller
raises :class:`~.errors.RequestTimeout`). The sessions we build mount :class:`DeadlineAdapter`, whose connections
register themselves with the call that uses them; the token refresh (google-auth's own request) goes through such a
session too, so a token endpoint that never answers is bounded by the same deadline.

The current call travels in a context variable: ``asyncio.to_thread`` copies it into the worker thread that
refreshes a token for the async client.
"""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

# Monotonic (time.monotonic) deadline of the call running in this context, for callers that only pass it on.
CALL_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("gcp_ops_call_deadline", default=None)
_CALL: contextvars.ContextVar[_Call | None] = contextvars.ContextVar("gcp_ops_call", default=None)

MIN_TIMEOUT_S = 0.05


class _Call:
    """One bounded call: its deadline, the connections it used, and whether the watchdog fired."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired = False
        self.finished = False
        self._conns: list[HTTPConnection] = []
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def register(self, conn: HTTPConnection) -> None:
        with self._lock:
            if self.fired:
                _shutdown(conn)
            else:
                self._conns.append(conn)

    def finish(self) -> None:
        """The call is over: the watchdog must leave its connections (back in the pool) alone."""
        with self._lock:
            self.finished = True
            self._conns.clear()

    def fire(self) -> None:
        with self._lock:
            if self.finished:
                return
            self.fired = True
            for conn in self._conns:
                _shutdown(conn)


def _shutdown(conn: HTTPConnection) -> None:
    sock = getattr(conn, "sock", None)
    if sock is None:
        return
    # The plain socket's shutdown, also for an SSLSocket: no TLS state is touched from this thread.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


@contextmanager
def bounded(deadline: float | None) -> Iterator[_Call | None]:
    """Run the body as one call that ends by ``deadline`` (``time.monotonic``); ``None``: no bound.

    Yields the call (``.fired`` tells the caller a failure was the deadline's doing), or ``None`` unbounded.
    """
    if deadline is None:
        yield None
        return
    call = _Call(deadline)
    token, dtoken = _CALL.set(call), CALL_DEADLINE.set(deadline)
    _WATCHDOG.watch(call)
    try:
        yield call
    finally:
        call.finish()  # the watchdog drops it when its deadline comes up
        _CALL.reset(token)
        CALL_DEADLINE.reset(dtoken)


class _Watchdog:
    """One daemon thread for every bounded call of the process: fires each call still running at its deadline.
    (A thread per call would cost a thread start per request.) Restarted in a forked child."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Call]] = []
        self._seq = itertools.count()
        self._pid = -1

    def watch(self, call: _Call) -> None:
        with self._cond:
            if self._pid != os.getpid():  # first use, or a forked child (threads do not survive a fork)
                self._heap, self._pid = [], os.getpid()
                threading.Thread(target=self._run, name="gcp-ops-deadlines", daemon=True).start()
            heapq.heappush(self._heap, (call.deadline, next(self._seq), call))
            if self._heap[0][2] is call:
                self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                if not self._heap:
                    self._cond.wait()
                    continue
                deadline, _, call = self._heap[0]
                if call.finished:
                    heapq.heappop(self._heap)
                    continue
                left = deadline - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                heapq.heappop(self._heap)
                call.fire()


_WATCHDOG = _Watchdog()


def capped(timeout: Any) -> Any:
    """``timeout`` (a number or a ``(connect, read)`` pair) capped by the current call's time left."""
    call = _CALL.get()
    if call is None:
        return timeout
    left = max(MIN_TIMEOUT_S, call.remaining())
    if timeout is None:
        return left
    if isinstance(timeout, tuple):
        return tuple(left if t is None else min(t, left) for t in timeout)
    return min(timeout, left)


class _Registering:
    def request(self, *args: Any, **kwargs: Any) -> Any:
        call = _CALL.get()
        if call is not None:
            call.register(self)  # type: ignore[arg-type]
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_Registering, HTTPConnection):
    pass


class _HTTPSConnection(_Registering, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter whose connections the current call can shut down, with timeouts capped by it."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def send(  # noqa: PLR0917 - requests.adapters.HTTPAdapter.send's own signature
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        return super().send(request, stream=stream, timeout=capped(timeout), verify=verify, cert=cert, proxies=proxies)


def watched(session: requests.Session) -> requests.Session:
    """Mount :class:`DeadlineAdapter` for http and https on ``session``; returns it."""
    adapter = DeadlineAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session

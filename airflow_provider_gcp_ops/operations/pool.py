"""One shared aiohttp session (one connection pool) per event loop.

A triggerer runs thousands of triggers in one event loop. Each opening its own client would mean thousands of
connection pools, SSL contexts and sockets; instead every async client on a loop leases the loop's one shared
session, and the last one to leave closes it.

aiohttp's connector keeps a FIFO of waiters per host and hands a released connection to the next one (O(1) per
event), so one connector serves the whole loop; the hand-made sharding the httpx transport needed (its pool
scanned connections x queued requests on every event) is gone. Measured (2,000 GETs at 50 in flight against
the emulator in another process, 2 cores, median of 3 rounds, both behind the same gate): one 64-connection
session 0.102 ms of CPU per GET, eight 8-connection sessions 0.102 ms.

A gate (an ``asyncio.Semaphore`` as large as the connector) still admits requests: it bounds the wait for a
free connection by the caller's pool timeout, apart from the connect timeout, and never swallows a cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from dataclasses import dataclass, field
from typing import Any

import aiohttp

MAX_CONNECTIONS = 64
KEEPALIVE_EXPIRY_S = 30.0


@dataclass
class SharedHttp:
    """A loop's session and the gate that keeps at most as many requests inside it as there are connections."""

    session: aiohttp.ClientSession
    connections: int = MAX_CONNECTIONS
    owned: bool = True
    gate: asyncio.Semaphore = field(init=False)
    _proxies: dict[str, str | None] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.gate = asyncio.Semaphore(self.connections)
        # aiohttp re-sends an idempotent request once, silently, when a reused connection turns out closed: an
        # attempt the retry policy would not count (its bound is the measured one). Its own test client switches
        # this off the same way; tests/clients/test_faults.py counts the requests that reach the server.
        if hasattr(self.session, "_retry_connection"):
            self.session._retry_connection = False

    @property
    def is_closed(self) -> bool:
        return self.session.closed

    def proxy_for(self, host: str, url: str) -> str | None:
        """The proxy the environment names for ``url`` (``HTTPS_PROXY`` / ``NO_PROXY``), looked up once per host.

        The session itself does not trust the environment: aiohttp would then look it up (in a worker thread)
        on every request.
        """
        try:
            return self._proxies[host]
        except KeyError:
            pass
        from aiohttp.helpers import get_env_proxy_for_url
        from yarl import URL

        proxy: str | None = None
        with contextlib.suppress(LookupError):
            proxy = str(get_env_proxy_for_url(URL(url))[0])
        self._proxies[host] = proxy
        return proxy

    async def aclose(self) -> None:
        await self.session.close()


async def acquire_within(gate: asyncio.Semaphore, timeout: float) -> None:
    """``gate.acquire()`` bounded by ``timeout``, without ``asyncio.wait_for``.

    On Python <= 3.11, ``wait_for`` swallows a cancellation that arrives just as the inner future completes
    (CPython gh-86296): a triggerer cancelling a trigger at that moment would be ignored and the trigger would
    poll on forever. ``asyncio.wait`` never swallows a cancellation; a slot won in the race is given back.
    """
    if not gate.locked():
        await gate.acquire()  # a free slot is taken at once, without suspending
        return
    waiter = asyncio.ensure_future(gate.acquire())
    try:
        done, _ = await asyncio.wait({waiter}, timeout=timeout)
    except BaseException:
        _abandon(gate, waiter)
        raise
    if not done:
        _abandon(gate, waiter)
        raise asyncio.TimeoutError(f"no free connection within {timeout:.1f} s")


def _abandon(gate: asyncio.Semaphore, waiter: asyncio.Future[Any]) -> None:
    """Stop waiting for a slot; if the slot was won meanwhile, give it back."""
    if not waiter.cancel() and not waiter.cancelled() and waiter.exception() is None:
        gate.release()


def new_session(connections: int = MAX_CONNECTIONS) -> aiohttp.ClientSession:
    """A session as the shared pool uses it: no cookies, no environment lookups per request, exact timeouts."""
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=0, keepalive_timeout=KEEPALIVE_EXPIRY_S)
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,  # see SharedHttp.proxy_for
        # Per-request timeouts are always given; this only switches aiohttp's 5-minute default off.
        timeout=aiohttp.ClientTimeout(total=None),
        auto_decompress=True,
    )


def private(session: aiohttp.ClientSession, connections: int = MAX_CONNECTIONS) -> SharedHttp:
    """Wrap a caller's own session (the caller closes it) with a gate of its own (see ``_retry_connection``)."""
    return SharedHttp(session, connections, owned=False)


@dataclass
class _Lease:
    shared: SharedHttp
    users: int = 0


_leases: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Lease] = weakref.WeakKeyDictionary()


def acquire() -> SharedHttp:
    """Lease the running loop's shared session (created on first use). Pair with :func:`release`."""
    loop = asyncio.get_running_loop()
    lease = _leases.get(loop)
    if lease is None or lease.shared.is_closed:
        lease = _Lease(SharedHttp(new_session()))
        _leases[loop] = lease
    lease.users += 1
    return lease.shared


async def release(shared: SharedHttp) -> None:
    """Give a lease back; the shared session is closed when its last user leaves."""
    loop = asyncio.get_running_loop()
    lease = _leases.get(loop)
    if lease is None or lease.shared is not shared:
        return
    lease.users -= 1
    if lease.users <= 0:
        del _leases[loop]
        await shared.aclose()


def shared_pool_count() -> int:
    """How many shared pools are open across loops (for tests and benchmarks)."""
    return sum(1 for lease in _leases.values() if not lease.shared.is_closed)


def users_on_this_loop() -> int:
    lease = _leases.get(asyncio.get_running_loop())
    return 0 if lease is None else lease.users

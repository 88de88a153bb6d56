"""One shared ``httpx.AsyncClient`` per event loop.

A triggerer runs thousands of triggers in one event loop. Each opening its own client would mean thousands of
connection pools, SSL contexts and sockets; instead every async client on a loop leases the loop's one shared
pool, and the last one to leave closes it.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass

import httpx

# Enough for thousands of pollers (each holds a connection for milliseconds), small enough to stay polite.
MAX_CONNECTIONS = 64
MAX_KEEPALIVE = 64
KEEPALIVE_EXPIRY_S = 30.0


@dataclass
class _Lease:
    client: httpx.AsyncClient
    users: int = 0


_leases: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Lease] = weakref.WeakKeyDictionary()


def _new_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        limits=httpx.Limits(
            max_connections=MAX_CONNECTIONS,
            max_keepalive_connections=MAX_KEEPALIVE,
            keepalive_expiry=KEEPALIVE_EXPIRY_S,
        ),
        follow_redirects=False,
    )


def acquire() -> httpx.AsyncClient:
    """Lease the running loop's shared client (created on first use). Pair with :func:`release`."""
    loop = asyncio.get_running_loop()
    lease = _leases.get(loop)
    if lease is None or lease.client.is_closed:
        lease = _Lease(_new_client())
        _leases[loop] = lease
    lease.users += 1
    return lease.client


async def release(client: httpx.AsyncClient) -> None:
    """Give a lease back; the shared client is closed when its last user leaves."""
    loop = asyncio.get_running_loop()
    lease = _leases.get(loop)
    if lease is None or lease.client is not client:
        return
    lease.users -= 1
    if lease.users <= 0:
        del _leases[loop]
        await client.aclose()


def shared_client_count() -> int:
    """How many shared clients are open across loops (for tests and benchmarks)."""
    return sum(1 for lease in _leases.values() if not lease.client.is_closed)


def users_on_this_loop() -> int:
    lease = _leases.get(asyncio.get_running_loop())
    return 0 if lease is None else lease.users

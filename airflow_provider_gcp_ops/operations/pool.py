"""One shared connection pool per event loop.

A triggerer runs thousands of triggers in one event loop. Each opening its own client would mean thousands of
connection pools, SSL contexts and sockets; instead every async client on a loop leases the loop's one shared
pool, and the last one to leave closes it.

Two measured facts shape it (1,000 concurrent GETs against the emulator in another process, 2 cores):
- httpcore's pool does work proportional to connections × queued requests on every event. One
  ``httpx.AsyncClient`` with 64 connections and 1,000 queued requests spent 23 s of 28 s in
  ``_assign_requests_to_connections``. So requests queue on an ``asyncio.Semaphore`` (O(1) per wake-up) and
  only as many enter httpx as there are free connections.
- Even then a 64-connection pool scans 64 × 64 per event. The pool is therefore split into shards of
  ``SHARD_CONNECTIONS``; a request takes a slot in the shard with the most free slots. Measured, 3,000
  concurrent GETs: one 64-connection client 34 s, 4 shards × 16 5.9 s, 8 × 8 4.1 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

SHARDS = 8
SHARD_CONNECTIONS = 8
MAX_CONNECTIONS = SHARDS * SHARD_CONNECTIONS
KEEPALIVE_EXPIRY_S = 30.0


@dataclass
class _Shard:
    client: httpx.AsyncClient
    free: int = SHARD_CONNECTIONS


@dataclass
class SharedHttp:
    """A loop's shards and the gate that keeps at most as many requests inside httpx as there are connections."""

    shards: list[_Shard]
    gate: asyncio.Semaphore = field(init=False)
    owned: bool = True

    def __post_init__(self) -> None:
        self.gate = asyncio.Semaphore(sum(s.free for s in self.shards))

    @property
    def is_closed(self) -> bool:
        return all(s.client.is_closed for s in self.shards)

    @contextlib.asynccontextmanager
    async def slot(self, wait_timeout: float) -> AsyncIterator[httpx.AsyncClient]:
        """A client with a free connection; waits at most ``wait_timeout`` s (``asyncio.TimeoutError``)."""
        await acquire_within(self.gate, wait_timeout)
        # Holding the gate guarantees a shard with a free slot: the gate counts exactly the free slots.
        shard = max(self.shards, key=lambda s: s.free)
        shard.free -= 1
        try:
            yield shard.client
        finally:
            shard.free += 1
            self.gate.release()

    async def aclose(self) -> None:
        for shard in self.shards:
            await shard.client.aclose()


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


def _new_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        limits=httpx.Limits(
            max_connections=SHARD_CONNECTIONS,
            max_keepalive_connections=SHARD_CONNECTIONS,
            keepalive_expiry=KEEPALIVE_EXPIRY_S,
        ),
        follow_redirects=False,
    )


def private(client: httpx.AsyncClient, connections: int = SHARD_CONNECTIONS) -> SharedHttp:
    """Wrap a caller's own client (the caller closes it) with a gate of its own."""
    return SharedHttp([_Shard(client, connections)], owned=False)


@dataclass
class _Lease:
    shared: SharedHttp
    users: int = 0


_leases: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Lease] = weakref.WeakKeyDictionary()


def acquire() -> SharedHttp:
    """Lease the running loop's shared pool (created on first use). Pair with :func:`release`."""
    loop = asyncio.get_running_loop()
    lease = _leases.get(loop)
    if lease is None or lease.shared.is_closed:
        lease = _Lease(SharedHttp([_Shard(_new_client()) for _ in range(SHARDS)]))
        _leases[loop] = lease
    lease.users += 1
    return lease.shared


async def release(shared: SharedHttp) -> None:
    """Give a lease back; the shared pool is closed when its last user leaves."""
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

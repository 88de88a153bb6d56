"""What the triggers on one event loop share, so that starting thousands costs one look-up and one token.

A triggerer runs every deferred task's trigger in one event loop, and each trigger resolves its connection and
builds credentials when it starts. Without sharing, 5,000 triggers of one connection starting together make
5,000 connection look-ups and, with a service-account key, 5,000 token requests to Google's token endpoint (each
credentials object refreshes its own token). Per event loop, this module keeps:

- **Connection settings**, per connection id and impersonation chain: ``aget_connection`` and the parse run at
  most once per :data:`CONNECTION_TTL_S`, single flight (whoever arrives while a look-up runs waits for that
  one). An edited connection reaches the triggers that start more than ``CONNECTION_TTL_S`` after the edit. A
  failed look-up is never kept: its waiters look up for themselves, each with its own error.
- **Token sources**, per connection id and a fingerprint of everything that decides the identity (the parsed
  settings: key material, scopes, quota project, impersonation chain, endpoint; and the emulator host): one
  google-auth credentials object whose token every trigger of that connection rides, refreshed once when it
  expires (:class:`~airflow_provider_gcp_ops.operations.auth.CredentialsTokenSource`). Different connection
  ids, extras or impersonation chains never share one. The fingerprint is a SHA-256 kept in memory, never
  logged. Rebuilt after :data:`CREDENTIALS_MAX_AGE_S` (so a key file replaced in place is read again).

Only the triggers' start-up goes through here: a waiting trigger keeps nothing of it but its client's token
source (shared) and settings (shared).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import math
import time
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")

CONNECTION_TTL_S = 30.0
CREDENTIALS_MAX_AGE_S = 3600.0

clock = time.monotonic  # module level, so that tests can move time


class _Entry(Generic[T]):
    __slots__ = ("expires", "task")

    def __init__(self, task: asyncio.Future[T]) -> None:
        self.task = task
        self.expires = math.inf  # set when the flight lands


class SharedTable(Generic[T]):
    """A single-flight cache on one event loop: ``await get(key, build)`` runs ``build()`` once per key and
    ``ttl`` seconds; everyone else gets its result (or waits for it). A failure is not kept."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[Hashable, _Entry[T]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: Hashable, build: Callable[[], Awaitable[T]]) -> T:
        entry = self._entries.get(key)
        if entry is not None and entry.expires > clock():
            task = entry.task
            if not task.done():
                # Wait for the flight without taking its outcome as ours: a waiter cancelled (its trigger killed)
                # never cancels everyone's look-up, and a failure is never one exception raised in many places.
                await asyncio.wait((task,))
            if not task.cancelled() and task.exception() is None:
                return task.result()
            return await build()  # the flight failed: our own look-up, with our own error
        return await self._fly(key, build)

    async def _fly(self, key: Hashable, build: Callable[[], Awaitable[T]]) -> T:
        self._purge()
        task: asyncio.Future[T] = asyncio.ensure_future(build())
        entry = _Entry(task)
        self._entries[key] = entry

        def landed(done: asyncio.Future[T]) -> None:
            if done.cancelled() or done.exception() is not None:
                if self._entries.get(key) is entry:
                    del self._entries[key]
            else:
                entry.expires = clock() + self.ttl

        task.add_done_callback(landed)
        return await asyncio.shield(task)

    def _purge(self) -> None:
        now = clock()
        for key in [k for k, e in self._entries.items() if e.expires <= now]:
            del self._entries[key]


@dataclasses.dataclass
class LoopShared:
    settings: SharedTable[Any] = dataclasses.field(default_factory=lambda: SharedTable(CONNECTION_TTL_S))
    tokens: SharedTable[Any] = dataclasses.field(default_factory=lambda: SharedTable(CREDENTIALS_MAX_AGE_S))
    # id(settings) -> (settings, emulator host, fingerprint): the settings objects come from ``settings`` (one
    # per connection and TTL), so a start hashes nothing; holding the object keeps its id from being reused.
    _fingerprints: dict[int, tuple[Any, str | None, str]] = dataclasses.field(default_factory=dict, repr=False)

    def fingerprint(self, settings: Any, emulator_host: str | None) -> str:
        known = self._fingerprints.get(id(settings))
        if known is not None and known[0] is settings and known[1] == emulator_host:
            return known[2]
        if len(self._fingerprints) >= _MAX_FINGERPRINTS:
            self._fingerprints.clear()
        value = identity_fingerprint(settings, emulator_host)
        self._fingerprints[id(settings)] = (settings, emulator_host, value)
        return value


_MAX_FINGERPRINTS = 256


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopShared] = weakref.WeakKeyDictionary()


def on_this_loop() -> LoopShared:
    """The running loop's shared state (created on first use; gone with the loop)."""
    loop = asyncio.get_running_loop()
    shared = _by_loop.get(loop)
    if shared is None:
        shared = _by_loop[loop] = LoopShared()
    return shared


def chain_key(chain: str | Any) -> Hashable:
    """An impersonation chain argument as a hashable key (a list becomes a tuple)."""
    return tuple(chain) if isinstance(chain, list | tuple) else chain


def identity_fingerprint(settings: Any, emulator_host: str | None) -> str:
    """SHA-256 over every field of the parsed settings and the emulator host: equal only for the same identity.
    Never logged (it is derived from key material)."""
    fields = [getattr(settings, f.name) for f in dataclasses.fields(settings)]
    blob = json.dumps([fields, emulator_host], sort_keys=True, default=repr, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()

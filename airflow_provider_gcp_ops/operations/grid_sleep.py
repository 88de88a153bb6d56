"""One timer per wake-grid instant on an event loop, shared by every wait sleeping until that instant.

A wait in the triggerer sleeps between polls until a point of a wake grid (:func:`.plans.on_grid`), so many
waits sleep until the same instant. Each sleeping with ``asyncio.sleep`` would put a timer of its own on the
loop's heap (thousands at once, one pushed and popped per poll); here the first sleeper of an instant sets the
loop's one timer for it and the others wait on a future beside it. A sleeper cancelled meanwhile (its trigger
killed) is cancelled at once, as from ``asyncio.sleep``; its future is dropped when the instant comes.
"""

from __future__ import annotations

import asyncio
import weakref

_Table = dict[float, list["asyncio.Future[None]"]]

_tables: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Table] = weakref.WeakKeyDictionary()


def sleep_until(until: float, seconds: float) -> asyncio.Future[None]:
    """A future done at ``until`` (an instant on ``time.monotonic``, ``seconds`` from now); await it."""
    loop = asyncio.get_running_loop()
    table = _tables.get(loop)
    if table is None:
        table = _tables[loop] = {}
    waiters = table.get(until)
    if waiters is None:
        waiters = table[until] = []
        loop.call_later(seconds, _wake, table, until)
    future: asyncio.Future[None] = loop.create_future()
    waiters.append(future)
    return future


def _wake(table: _Table, until: float) -> None:
    for future in table.pop(until, ()):
        if not future.done():
            future.set_result(None)


def pending_instants() -> int:
    """How many instants have a timer on the running loop (for tests)."""
    return len(_tables.get(asyncio.get_running_loop(), ()))

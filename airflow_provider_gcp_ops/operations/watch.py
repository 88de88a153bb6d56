"""Watching collections of operations for conditions, sans-IO: which page to list next, which event fires.

Used by the event trigger (``triggers/watcher.py``); pure, so it is tested on a simulated clock.

**Cost.** :func:`poll_plan` lists pages round-robin over the collections, continuing where the previous poll
stopped (a cursor: collection index and page token), and sends at most ``budget`` list requests per poll; one
poll never lists a collection twice (it stops at the end of a full pass).

**Firing.** :class:`WatchState` fires each (operation, condition) at most once in its lifetime. An event has an
*event time*: the operation's end time (``failed`` / ``cancelled`` / ``succeeded`` / ``done``) or its start time
plus the threshold (``long_running``). Events whose event time is before the *watermark* (when the watch started,
minus ``lookback_s``) are history and never fire. When the metadata gives no event time, an operation already in
that condition during the first full pass is taken as history; one that reaches it later fires.

**Restarts.** The fired set lives in memory. A new watch (a triggerer restart) starts a new watermark: events in
``[restart - lookback_s, restart)`` fire again (same ``dedup_key``), events during an outage longer than
``lookback_s`` are missed. ``lookback_s=0`` (default): nothing repeats; events while no watch ran are missed.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .core import list_request, parse_list
from .model import Operation, OperationState
from .names import CollectionRef
from .plans import Plan, Send

__all__ = ["Condition", "Cursor", "PollResult", "WatchEvent", "WatchState", "parse_conditions", "poll_plan"]

PAYLOAD_VERSION = 1


class Condition(str, enum.Enum):
    FAILED = "failed"
    CANCELLED = "cancelled"
    SUCCEEDED = "succeeded"
    DONE = "done"  # finished, however it ended
    LONG_RUNNING = "long_running"  # still running at least the threshold after its start time


def parse_conditions(values: Iterable[str] | str) -> tuple[Condition, ...]:
    """Condition names (``"failed"``, ...) as a sorted, de-duplicated tuple; a clear ``ValueError`` otherwise."""
    items = [values] if isinstance(values, str) else list(values)
    if not items:
        raise ValueError("conditions must not be empty")
    out = set()
    for item in items:
        try:
            out.add(Condition(str(item).strip().lower()))
        except ValueError:
            known = ", ".join(c.value for c in Condition)
            raise ValueError(f"unknown condition {item!r}; known: {known}") from None
    return tuple(sorted(out, key=lambda c: c.value))


@dataclass(frozen=True)
class Cursor:
    """Where the next poll continues: which collection, which page (``None``: its first)."""

    index: int = 0
    page_token: str | None = None


@dataclass(frozen=True)
class PollResult:
    pages: tuple[tuple[CollectionRef, tuple[Operation, ...]], ...]
    cursor: Cursor
    calls: int
    pass_completed: bool  # the last collection's last page was listed in this poll


def poll_plan(
    collections: Sequence[CollectionRef],
    cursor: Cursor,
    *,
    budget: int,
    filter: str | None = None,
    page_size: int | None = None,
    deadline: float | None = None,
) -> Plan[PollResult]:
    """At most ``budget`` list requests from ``cursor`` on, stopping at the end of a full pass."""
    if not collections:
        raise ValueError("nothing to watch: no collections")
    if budget < 1:
        raise ValueError(f"budget must be >= 1, got {budget!r}")
    index, token = cursor.index % len(collections), cursor.page_token
    pages: list[tuple[CollectionRef, tuple[Operation, ...]]] = []
    calls = 0
    completed = False
    while calls < budget and not completed:
        coll = collections[index]
        request = list_request(coll, filter=filter, page_size=page_size, page_token=token)
        page = yield Send(request, parse_list, deadline=deadline)
        calls += 1
        pages.append((coll, page.operations))
        next_token = page.next_page_token
        if next_token and next_token != token:
            token = next_token
            continue
        token = None
        index += 1
        if index == len(collections):
            index, completed = 0, True
    return PollResult(pages=tuple(pages), cursor=Cursor(index, token), calls=calls, pass_completed=completed)


@dataclass(frozen=True)
class WatchEvent:
    condition: Condition
    operation: Operation
    collection: CollectionRef
    event_time: datetime | None

    @property
    def dedup_key(self) -> str:
        return f"{self.operation.name}#{self.condition.value}"

    def to_payload(self) -> dict[str, Any]:
        """JSON-safe: the asset event's ``extra["payload"]``."""
        op = self.operation
        end = op.end_time()
        return {
            "v": PAYLOAD_VERSION,
            "condition": self.condition.value,
            "dedup_key": self.dedup_key,
            "event_time": None if self.event_time is None else self.event_time.isoformat(),
            "service": self.collection.service,
            "api_version": self.collection.api_version,
            "collection": self.collection.parent,
            "operation": {**op.summary(), "end_time": None if end is None else end.isoformat()},
        }


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


@dataclass
class WatchState:
    """Decides which events fire; remembers what fired (see the module docstring)."""

    conditions: tuple[Condition, ...]
    started_at: float  # epoch seconds
    long_running_after_s: float | None = None
    lookback_s: float = 0.0
    first_pass_done: bool = False
    _fired: set[str] = field(default_factory=set)
    _seen_this_pass: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if Condition.LONG_RUNNING in self.conditions and (
            self.long_running_after_s is None or self.long_running_after_s <= 0
        ):
            raise ValueError("the long_running condition needs a positive long_running_after threshold")
        if self.lookback_s < 0:
            raise ValueError(f"lookback must be >= 0, got {self.lookback_s!r}")

    @property
    def watermark(self) -> datetime:
        return _utc(self.started_at - self.lookback_s)

    @property
    def remembered(self) -> int:
        return len(self._fired)

    def _event_time(self, op: Operation, condition: Condition, now: float) -> tuple[bool, datetime | None]:
        """(in the condition now, when it entered it if known)."""
        state = op.state
        if condition is Condition.LONG_RUNNING:
            start = op.start_time()
            assert self.long_running_after_s is not None
            if state is not OperationState.RUNNING or start is None:
                return False, None  # no start time: its age is unknown, never guessed
            crossed = start.timestamp() + self.long_running_after_s
            return now >= crossed, _utc(crossed)
        matches = {
            Condition.FAILED: state is OperationState.FAILED,
            Condition.CANCELLED: state is OperationState.CANCELLED,
            Condition.SUCCEEDED: state is OperationState.SUCCEEDED,
            Condition.DONE: op.done,
        }[condition]
        return matches, op.end_time() if matches else None

    def observe(self, collection: CollectionRef, operations: Iterable[Operation], *, now: float) -> list[WatchEvent]:
        events = []
        for op in operations:
            self._seen_this_pass.add(op.name)
            for condition in self.conditions:
                key = f"{op.name}#{condition.value}"
                if key in self._fired:
                    continue
                matches, when = self._event_time(op, condition, now)
                if not matches:
                    continue
                self._fired.add(key)
                if when is not None:
                    if when < self.watermark:
                        continue  # history: before this watch (minus the lookback)
                elif not self.first_pass_done:
                    continue  # already so when the watch began, and no time says otherwise
                events.append(WatchEvent(condition, op, collection, when))
        return events

    def end_pass(self) -> None:
        """A full pass over every collection ended: forget operations no longer listed (bounded memory)."""
        self.first_pass_done = True
        seen = self._seen_this_pass
        self._fired = {key for key in self._fired if key.rsplit("#", 1)[0] in seen}
        self._seen_this_pass = set()

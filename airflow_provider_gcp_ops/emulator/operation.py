"""One emulated long-running operation, and its state computed lazily from the clock.

No background task advances an operation: every read computes its phase from when it was created, how long it
runs, when (if ever) a cancel was requested, and the virtual clock. The rendered JSON is cached per visible
phase, so a poll of an unchanged operation costs a dict lookup and a comparison.
"""

from __future__ import annotations

import enum
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_gcp_ops.emulator import metadata as _metadata
from airflow_provider_gcp_ops.emulator.catalog import IdStyle, ServiceProfile
from airflow_provider_gcp_ops.emulator.wire import dumps
from airflow_provider_gcp_ops.operations.services import ServiceSpec

CANCELLED_MESSAGE = "Operation was cancelled."


class Phase(str, enum.Enum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def done(self) -> bool:
        return self in (Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELLED)


class CancelMode(str, enum.Enum):
    CANCELLABLE = "cancellable"  # after cancel_delay_s the operation ends with error code 1 (CANCELLED)
    IGNORED = "ignored"  # cancel answers 200 but the operation runs on (best effort, as Google warns)
    UNIMPLEMENTED = "unimplemented"  # cancel answers 501 UNIMPLEMENTED


Event = tuple[Phase, float]  # a phase and the virtual instant it began


@dataclass(eq=False)
class Operation:
    name: str
    parent: str
    spec: ServiceSpec
    profile: ServiceProfile
    project: str
    location: str
    api_version: str
    seq: int
    created_v: float
    create_wall: float
    duration_s: float
    pending_s: float
    cancel_mode: CancelMode
    cancel_delay_s: float
    resource_name: str
    resource_uuid: str
    error: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    metadata_overrides: dict[str, Any] = field(default_factory=dict)
    cancel_requested_v: float | None = None
    _cache_key: tuple[int, bool] | None = field(default=None, repr=False)
    _cache_body: bytes = field(default=b"", repr=False)
    _cache_dict: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def service(self) -> str:
        return self.spec.key

    def wall(self, virtual: float) -> float:
        """The wall-clock (epoch) time an instant of this operation's virtual life is reported as."""
        return self.create_wall + (virtual - self.created_v)

    def terminal(self) -> Event:
        """How and when the operation ends, given what is known now (a later cancel may bring it forward)."""
        end_v = self.created_v + self.duration_s
        if self.cancel_requested_v is not None and self.cancel_mode is CancelMode.CANCELLABLE:
            cancel_v = self.cancel_requested_v + self.cancel_delay_s
            if cancel_v < end_v:
                return Phase.CANCELLED, cancel_v
        return (Phase.FAILED if self.error is not None else Phase.SUCCEEDED), end_v

    def timeline(self, now_v: float) -> list[Event]:
        """The phases the operation has been in up to ``now_v``, oldest first (never empty)."""
        term, term_v = self.terminal()
        events: list[Event] = []
        running_v = self.created_v + self.pending_s
        if self.pending_s > 0 and term_v > self.created_v:
            events.append((Phase.PENDING, self.created_v))
        if running_v < term_v:
            events.append((Phase.RUNNING, running_v))
        events.append((term, term_v))
        visible = [e for e in events if e[1] <= now_v]
        return visible or events[:1]

    def phase(self, now_v: float) -> Phase:
        return self.timeline(now_v)[-1][0]

    def done(self, now_v: float) -> bool:
        return self.phase(now_v).done

    def full_timeline(self) -> list[Event]:
        """Every phase, including those still to come at the current plan."""
        return self.timeline(float("inf"))

    # -- rendering -------------------------------------------------------------------------------------------

    def _refresh(self, now_v: float) -> None:
        events = self.timeline(now_v)
        key = (len(events), self.cancel_requested_v is not None)
        if key == self._cache_key:
            return
        doc = self._render(events)
        self._cache_key, self._cache_dict, self._cache_body = key, doc, dumps(doc)

    def as_dict(self, now_v: float) -> dict[str, Any]:
        """The Operation as Google writes it (treat as read-only: it is cached)."""
        self._refresh(now_v)
        return self._cache_dict

    def as_json(self, now_v: float) -> bytes:
        self._refresh(now_v)
        return self._cache_body

    def _render(self, events: list[Event]) -> dict[str, Any]:
        phase, _ = events[-1]
        doc: dict[str, Any] = {"name": self.name, "metadata": _metadata.build(self, events)}
        if phase.done:  # Google omits "done": false
            doc["done"] = True
            if phase is Phase.CANCELLED:
                doc["error"] = {"code": 1, "message": CANCELLED_MESSAGE}
            elif phase is Phase.FAILED:
                doc["error"] = dict(self.error or {})
            else:
                doc["response"] = self.response if self.response is not None else _metadata.default_response(self)
        return doc


def new_operation_id(style: IdStyle, rng: random.Random, wall_s: float) -> str:
    if style is IdStyle.UUID:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if style is IdStyle.NUMERIC:
        return str(rng.randrange(10**18, 10**19))
    if style is IdStyle.HEX16:
        return f"{rng.getrandbits(64):016x}"
    millis = int(wall_s * 1000)
    return f"operation-{millis}-{rng.getrandbits(52):013x}-{rng.getrandbits(32):08x}-{rng.getrandbits(32):08x}"

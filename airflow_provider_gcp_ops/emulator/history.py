"""Per-operation history: the requests it received and the states it went through.

Times (``t``) are real (monotonic) seconds since the operation was created; a backdated operation
(``created_ago_s``) was created in the past at the scale of the time. States are computed from the operation's
plan (its phases up to now) and frozen when it is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airflow_provider_gcp_ops.emulator.clock import VirtualClock
from airflow_provider_gcp_ops.emulator.operation import Operation

MAX_REQUESTS_PER_OPERATION = 10_000


@dataclass
class OperationHistory:
    name: str
    service: str
    created_real: float
    requests: list[dict[str, Any]] = field(default_factory=list)
    dropped_requests: int = 0
    frozen_states: list[dict[str, Any]] | None = None  # set when the operation is deleted
    cancel_requested_t: float | None = None

    def record_request(
        self, verb: str, status: int | None, now_real: float, fault: str | None, client: str | None = None
    ) -> None:
        """``client`` is the request's ``User-Agent`` (which process asked: the provider's names its pid)."""
        if len(self.requests) >= MAX_REQUESTS_PER_OPERATION:
            self.dropped_requests += 1
            return
        entry: dict[str, Any] = {"verb": verb, "status": status, "t": round(now_real - self.created_real, 6)}
        if fault is not None:
            entry["fault"] = fault
        if client:
            entry["client"] = client
        self.requests.append(entry)


class History:
    def __init__(self) -> None:
        self._by_name: dict[str, OperationHistory] = {}

    def opened(self, op: Operation, clock: VirtualClock) -> OperationHistory:
        entry = OperationHistory(op.name, op.service, clock.real_of(op.created_v))
        self._by_name[op.name] = entry
        return entry

    def get(self, name: str) -> OperationHistory | None:
        return self._by_name.get(name)

    def deleted(self, op: Operation, clock: VirtualClock, now_real: float) -> None:
        entry = self._by_name.get(op.name)
        if entry is None:
            return
        states = _states(op, clock, clock.now(), entry.created_real)
        states.append({"state": "DELETED", "t": round(now_real - entry.created_real, 6)})
        entry.frozen_states = states

    def report(self, name: str, op: Operation | None, clock: VirtualClock) -> dict[str, Any] | None:
        entry = self._by_name.get(name)
        if entry is None:
            return None
        if entry.frozen_states is not None or op is None:
            states = entry.frozen_states or []
        else:
            states = _states(op, clock, clock.now(), entry.created_real)
        final = [s["state"] for s in states if s["state"] != "DELETED"]
        return {
            "name": entry.name,
            "service": entry.service,
            "state": final[-1] if final else None,
            "done": bool(final) and final[-1] in ("SUCCEEDED", "FAILED", "CANCELLED"),
            "deleted": entry.frozen_states is not None,
            "cancel_requested_t": entry.cancel_requested_t,
            "states": states,
            "requests": list(entry.requests),
            "dropped_requests": entry.dropped_requests,
        }


def _states(op: Operation, clock: VirtualClock, now_v: float, created_real: float) -> list[dict[str, Any]]:
    return [
        {"state": phase.value, "t": round(clock.real_of(at_v) - created_real, 6)} for phase, at_v in op.timeline(now_v)
    ]

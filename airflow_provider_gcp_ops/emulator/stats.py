"""Request counters: per route, per operation, cancels, faults, response statuses, in-flight requests.

Counted on the Google routes only, except ``requests["admin"]``; ``max_in_flight`` is the highest number of
Google-route requests the server was handling at once (a client's concurrency bound shows here).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

ROUTE_KEYS = ("get", "list", "cancel", "delete", "wait", "admin", "unknown")


class Stats:
    def __init__(self) -> None:
        self.requests: Counter[str] = Counter({k: 0 for k in ROUTE_KEYS})
        self.per_operation: dict[str, Counter[str]] = {}
        self.cancels_by_operation: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.rate_limited = 0  # requests refused by the quota (rate_limit_per_s), answered 429
        self.responses: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.operations_created = 0
        self.operations_deleted = 0

    def begin(self) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def end(self) -> None:
        self.in_flight -= 1

    def count_request(self, route: str, name: str | None) -> None:
        self.requests[route] += 1
        if name is not None:
            per = self.per_operation.get(name)
            if per is None:
                per = self.per_operation[name] = Counter()
            per[route] += 1
            if route == "cancel":
                self.cancels_by_operation[name] += 1

    def count_response(self, status: int) -> None:
        self.responses[str(status)] += 1

    def count_fault(self, kind: str) -> None:
        self.faults[kind] += 1

    def as_dict(self, operations_live: int) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "requests_total": sum(v for k, v in self.requests.items() if k != "admin"),
            "operations": {name: dict(c) for name, c in self.per_operation.items()},
            "cancels": {
                "total": sum(self.cancels_by_operation.values()),
                "by_operation": dict(self.cancels_by_operation),
            },
            "faults": {"total": sum(self.faults.values()), **self.faults},
            "rate_limited": self.rate_limited,
            "responses": dict(self.responses),
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "operations_created": self.operations_created,
            "operations_deleted": self.operations_deleted,
            "operations_live": operations_live,
        }

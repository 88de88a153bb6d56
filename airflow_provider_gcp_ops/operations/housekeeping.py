"""Housekeeping without I/O: which operations to cancel or delete, and the run's JSON summary.

:func:`plan_housekeeping` is a pure function from listed operations, a "now" and the thresholds to planned
actions plus the operations it leaves alone and why; :class:`Report` turns planned and performed actions into the
summary the operator returns and logs. ``OperationsHousekeepingOperator`` only lists, calls this, sends the
planned requests and feeds the outcomes back, so every decision here is unit-tested without a server.

Rules (documented on the operator too):

- A **running** operation is cancelled when ``cancel_running_older_than`` is set and its age (now minus
  :meth:`Operation.start_time`) is at least that. Unknown start time: skipped (``unknown_start_time``).
- A **done** operation's record is deleted when ``delete_done_older_than`` is set, its state is in
  ``delete_states`` and its age (now minus :meth:`Operation.end_time`, else :meth:`Operation.start_time`) is at
  least that. Unknown end and start time: skipped (``unknown_end_time``).
- A service whose table row lacks the verb: skipped (``service_has_no_cancel`` / ``service_has_no_delete``),
  never a request.
- The oldest go first: cancels (running work costs money), then deletes, each oldest first; beyond
  ``max_actions`` the rest is skipped (``max_actions_reached``).
- Younger operations, and kinds without a threshold, are "untouched": counted, not listed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airflow_provider_gcp_ops.operations.model import Operation, OperationState
from airflow_provider_gcp_ops.operations.names import CollectionRef
from airflow_provider_gcp_ops.operations.services import ServiceSpec

__all__ = [
    "CANCEL",
    "DELETE",
    "REASONS",
    "TERMINAL_STATES",
    "HousekeepingPlan",
    "PlannedAction",
    "Report",
    "Skipped",
    "format_table",
    "housekeeping_parents",
    "plan_housekeeping",
    "select_collections",
]

CANCEL = "cancel"
DELETE = "delete"
TERMINAL_STATES = ("succeeded", "failed", "cancelled")

# Every skip reason, with the sentence the log table shows. Planning reasons first, then reasons found when the
# request was answered (the operation changed between the listing and the request).
REASONS: Mapping[str, str] = {
    "unknown_start_time": "running, but its metadata has no start time: its age is unknown",
    "unknown_end_time": "done, but its metadata has no end or start time: its age is unknown",
    "service_has_no_cancel": "old enough to cancel, but the service has no cancel verb (no request sent)",
    "service_has_no_delete": "old enough to delete, but the service has no delete verb (no request sent)",
    "state_not_in_delete_states": "old enough to delete, but its state is not in delete_states",
    "max_actions_reached": "old enough, but this run already planned max_actions requests",
    "not_found": "gone before the request (NOT_FOUND): deleted or expired meanwhile",
    "unimplemented_by_server": "the server answered UNIMPLEMENTED for this operation",
    "finished_before_cancel": "finished between the listing and the cancel (FAILED_PRECONDITION)",
}


@dataclass(frozen=True)
class PlannedAction:
    """One request to send: ``verb`` is ``"cancel"`` or ``"delete"``; ``age_s`` what made it due."""

    verb: str
    name: str
    state: str
    age_s: float


@dataclass(frozen=True)
class Skipped:
    name: str
    reason: str


@dataclass
class HousekeepingPlan:
    actions: list[PlannedAction] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    untouched: int = 0
    listed: int = 0
    by_state: Counter[str] = field(default_factory=Counter)


def _age(now: datetime, then: datetime | None) -> float | None:
    if then is None:
        return None
    return max(0.0, (now - then).total_seconds())  # a clock ahead of ours makes an operation young, not negative


def plan_housekeeping(
    operations: Iterable[Operation],
    *,
    now: datetime,
    cancel_running_older_than: float | None,
    delete_done_older_than: float | None,
    can_cancel: bool = True,
    can_delete: bool = True,
    delete_states: Collection[str] = TERMINAL_STATES,
    max_actions: int | None = None,
) -> HousekeepingPlan:
    """Decide what to do with each operation (see the module docstring). ``now`` must be timezone-aware.

    Operations listed twice (overlapping parents) count once.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    plan = HousekeepingPlan()
    due: list[PlannedAction] = []
    seen: set[str] = set()
    for op in operations:
        if op.name in seen:
            continue
        seen.add(op.name)
        plan.listed += 1
        state = op.state
        plan.by_state[state.value] += 1
        if state is OperationState.RUNNING:
            verdict = _running(op, now, cancel_running_older_than, can_cancel)
        else:
            verdict = _done(op, now, delete_done_older_than, can_delete, delete_states)
        if verdict is None:
            plan.untouched += 1
        elif isinstance(verdict, Skipped):
            plan.skipped.append(verdict)
        else:
            due.append(verdict)
    # Cancels first, then deletes; each oldest first; ties by name so the plan is deterministic.
    due.sort(key=lambda a: (a.verb != CANCEL, -a.age_s, a.name))
    cap = len(due) if max_actions is None else max(0, max_actions)
    plan.actions = due[:cap]
    plan.skipped.extend(Skipped(a.name, "max_actions_reached") for a in due[cap:])
    return plan


def _running(op: Operation, now: datetime, threshold: float | None, can_cancel: bool) -> PlannedAction | Skipped | None:
    if threshold is None:
        return None
    age = _age(now, op.start_time())
    if age is None:
        return Skipped(op.name, "unknown_start_time" if can_cancel else "service_has_no_cancel")
    if age < threshold:
        return None
    if not can_cancel:
        return Skipped(op.name, "service_has_no_cancel")
    return PlannedAction(CANCEL, op.name, op.state.value, age)


def _done(
    op: Operation, now: datetime, threshold: float | None, can_delete: bool, delete_states: Collection[str]
) -> PlannedAction | Skipped | None:
    if threshold is None:
        return None
    age = _age(now, op.end_time() or op.start_time())
    if age is None:
        return Skipped(op.name, "unknown_end_time" if can_delete else "service_has_no_delete")
    if age < threshold:
        return None
    if not can_delete:
        return Skipped(op.name, "service_has_no_delete")
    if op.state.value not in delete_states:
        return Skipped(op.name, "state_not_in_delete_states")
    return PlannedAction(DELETE, op.name, op.state.value, age)


@dataclass
class Report:
    """Accumulates one run's facts and renders the JSON summary (XCom) and the log table.

    Counts are complete; names are kept only as the first ``max_examples`` examples per kind, so the XCom stays
    small whatever the number of operations.
    """

    service: str
    parents: Sequence[str]
    dry_run: bool
    thresholds: Mapping[str, float | None]
    max_examples: int = 10
    listed: int = 0
    by_state: Counter[str] = field(default_factory=Counter)
    untouched: int = 0
    planned: Counter[str] = field(default_factory=Counter)
    done: Counter[str] = field(default_factory=Counter)
    done_examples: dict[str, list[str]] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_examples: dict[str, list[str]] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    error_count: int = 0
    unreachable: list[str] = field(default_factory=list)
    truncated_parents: list[str] = field(default_factory=list)

    def add_plan(self, plan: HousekeepingPlan) -> None:
        self.listed += plan.listed
        self.by_state.update(plan.by_state)
        self.untouched += plan.untouched
        self.planned.update(a.verb for a in plan.actions)
        for skip in plan.skipped:
            self.skip(skip.name, skip.reason)

    def skip(self, name: str, reason: str) -> None:
        self.skipped[reason] += 1
        self._example(self.skipped_examples, reason, name)

    def performed(self, action: PlannedAction) -> None:
        self.done[action.verb] += 1
        self._example(self.done_examples, action.verb, action.name)

    def error(self, name: str, action: str, exc: BaseException | str) -> None:
        self.error_count += 1
        if len(self.errors) < self.max_examples:
            message = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
            self.errors.append({"name": name, "action": action, "error": message})

    def _example(self, into: dict[str, list[str]], key: str, name: str) -> None:
        names = into.setdefault(key, [])
        if len(names) < self.max_examples:
            names.append(name)

    def summary(self, **extra: Any) -> dict[str, Any]:
        """The JSON-safe summary (the operator's XCom ``return_value``)."""
        return {
            "service": self.service,
            "parents": list(self.parents),
            "dry_run": self.dry_run,
            "thresholds": dict(self.thresholds),
            "listed": self.listed,
            "listed_by_state": dict(sorted(self.by_state.items())),
            "untouched": self.untouched,
            "planned": {CANCEL: self.planned[CANCEL], DELETE: self.planned[DELETE]},
            "cancelled": self.done[CANCEL],
            "deleted": self.done[DELETE],
            "cancelled_examples": list(self.done_examples.get(CANCEL, [])),
            "deleted_examples": list(self.done_examples.get(DELETE, [])),
            "skipped": {
                "total": sum(self.skipped.values()),
                "by_reason": dict(sorted(self.skipped.items())),
                "examples": {k: list(v) for k, v in sorted(self.skipped_examples.items())},
            },
            "errors": {"total": self.error_count, "examples": [dict(e) for e in self.errors]},
            "unreachable": list(self.unreachable),
            "truncated_parents": list(self.truncated_parents),
            **extra,
        }

    def table_rows(self) -> list[tuple[str, str]]:
        """Rows of the log table: what was listed, planned, done, skipped (per reason) and failed."""
        rows: list[tuple[str, str]] = [("listed", str(self.listed))]
        rows += [(f"  {state}", str(n)) for state, n in sorted(self.by_state.items())]
        rows.append(("untouched (younger than the thresholds)", str(self.untouched)))
        for verb, past in ((CANCEL, "cancels accepted by the server"), (DELETE, "records deleted")):
            rows.append((f"{verb}s planned", str(self.planned[verb])))
            rows.append(("  none sent (dry run)" if self.dry_run else f"  {past}", str(self.done[verb])))
        rows.append(("skipped", str(sum(self.skipped.values()))))
        rows += [(f"  {reason}: {REASONS.get(reason, '')}", str(n)) for reason, n in sorted(self.skipped.items())]
        rows.append(("errors", str(self.error_count)))
        if self.unreachable:
            rows.append(("unreachable locations", ", ".join(self.unreachable)))
        if self.truncated_parents:
            rows.append(("listing stopped at max_listed", ", ".join(self.truncated_parents)))
        return rows


def format_table(title: str, rows: Sequence[tuple[str, str]]) -> str:
    """A plain two-column text table (for task logs)."""
    left = max([len(r[0]) for r in rows] + [len(title)])
    right = max([len(r[1]) for r in rows] + [1])
    rule = f"+-{'-' * left}-+-{'-' * right}-+"
    lines = [rule, f"| {title.ljust(left)} | {' ' * right} |", rule]
    lines += [f"| {k.ljust(left)} | {v.rjust(right)} |" for k, v in rows]
    lines.append(rule)
    return "\n".join(lines)


_LOCATION_COLLECTIONS = ("regions", "locations")


def housekeeping_parents(spec: ServiceSpec, project_id: str, locations: Sequence[str]) -> list[str]:
    """The operation collections of ``project_id`` in ``locations`` for a service, from its name patterns.

    Each pattern ``projects/*/{regions|locations}/*/operations/*`` gives one parent per location (Dataproc has
    both: cluster operations live under ``regions/``, Serverless batch operations under ``locations/``). A
    location the service treats as global, when the service also has project-level operations
    (``projects/*/operations/*``, Dialogflow ES), means ``projects/{project}``. A service with neither (Spanner:
    ``instances/*``) takes the first pattern's collection, the "location" being e.g. the instance id.
    """
    patterns = [p.removesuffix("/operations/*").split("/") for p in spec.name_patterns if p.endswith("/operations/*")]
    project_level = any(len(p) == 2 for p in patterns)
    located = [p[2] for p in patterns if len(p) == 4 and p[0] == "projects" and p[2] in _LOCATION_COLLECTIONS]
    if not located:
        located = [p[2] for p in patterns if len(p) == 4 and p[0] == "projects"][:1]
    if not located and not project_level:
        raise ValueError(f"{spec.title}: no project/location operation collection; pass parents= instead")
    out: list[str] = []
    for location in locations:
        if project_level and (location in spec.global_locations or not located):
            candidates = [f"projects/{project_id}"]
        else:
            candidates = [f"projects/{project_id}/{collection}/{location}" for collection in located]
        out += [c for c in candidates if c not in out]
    return out


def select_collections(
    service: str,
    *,
    parents: Sequence[str] | None,
    project_id: str | None,
    locations: Sequence[str] | None,
    api_version: str | None = None,
) -> list[CollectionRef]:
    """The operation collections to list: ``parents`` as given, or those of ``project_id`` in ``locations``.

    Every parent is resolved (and so validated) before any request; a parent named twice is listed once.
    """
    from airflow_provider_gcp_ops.operations.names import resolve_collection
    from airflow_provider_gcp_ops.operations.services import get_service

    spec = get_service(service)
    if parents is None:
        if not project_id or not locations:
            raise ValueError(f"{spec.title}: pass parents=[...], or a project with a non-empty locations=[...]")
        parents = housekeeping_parents(spec, project_id, locations)
    refs = [resolve_collection(p, service=spec.key, api_version=api_version) for p in parents]
    return list({(r.parent, r.host): r for r in refs}.values())

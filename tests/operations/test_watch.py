"""The watcher's sans-IO core: the listing budget and cursor, and when an event fires (simulated clock)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_gcp_ops.operations.core import ListPage
from airflow_provider_gcp_ops.operations.model import Operation, Status
from airflow_provider_gcp_ops.operations.names import resolve_collection
from airflow_provider_gcp_ops.operations.plans import Plan, Send
from airflow_provider_gcp_ops.operations.watch import (
    Condition,
    Cursor,
    PollResult,
    WatchState,
    parse_conditions,
    poll_plan,
)

T0 = 1_700_000_000.0
A = resolve_collection("projects/p/regions/a", service="dataproc")
B = resolve_collection("projects/p/regions/b", service="dataproc")


def ts(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def op(
    n: str, *, error: int | None = None, done: bool | None = None, start: float | None = None, end: float | None = None
) -> Operation:
    md: dict[str, Any] = {}
    if start is not None:
        md["createTime"] = ts(start)
    if end is not None:
        md["endTime"] = ts(end)
    return Operation(
        name=f"projects/p/regions/a/operations/{n}",
        done=(error is not None) if done is None else done,
        metadata=md,
        error=None if error is None else Status(code=error, message="x"),
    )


def drive(plan: Plan[PollResult], pages: Callable[[str, str | None], ListPage]) -> tuple[PollResult, list[Any]]:
    """Answer each Send with ``pages(parent, page_token)``; return the result and the requests sent."""
    sent = []
    try:
        action = next(plan)
        while True:
            assert isinstance(action, Send)
            sent.append(action.request)
            query = dict(action.request.query)
            action = plan.send(pages(action.request.path, query.get("pageToken")))
    except StopIteration as stop:
        return stop.value, sent


def paged(n_pages: int) -> Callable[[str, str | None], ListPage]:
    def answer(path: str, token: str | None) -> ListPage:
        index = 0 if token is None else int(token)
        nxt = str(index + 1) if index + 1 < n_pages else None
        return ListPage(operations=(op(f"{path[-25:].replace('/', '-')}-{index}"),), next_page_token=nxt)

    return answer


def test_poll_plan_spends_at_most_its_budget_and_resumes() -> None:
    cursor = Cursor()
    requests = []
    completed = []
    for _ in range(4):
        result, sent = drive(poll_plan([A, B], cursor, budget=2, filter="done = true", page_size=1), paged(3))
        assert result.calls == len(sent) <= 2
        requests += sent
        completed.append(result.pass_completed)
        cursor = result.cursor
    # 3 pages of A, then 3 of B: a full pass takes 6 calls, i.e. three polls of 2.
    paths = [r.path.rsplit("/", 2)[-2] for r in requests]
    assert paths[:6] == ["a", "a", "a", "b", "b", "b"]
    assert completed[:3] == [False, False, True]
    assert all(dict(r.query).get("filter") == "done = true" for r in requests)


def test_poll_plan_stops_at_the_end_of_a_pass() -> None:
    result, sent = drive(poll_plan([A, B], Cursor(), budget=10), paged(1))
    assert len(sent) == 2 and result.pass_completed and result.cursor == Cursor()


def test_poll_plan_checks_its_input() -> None:
    with pytest.raises(ValueError, match="budget"):
        next(poll_plan([A], Cursor(), budget=0))
    with pytest.raises(ValueError, match="collections"):
        next(poll_plan([], Cursor(), budget=1))


def state(*conditions: str, **kw: Any) -> WatchState:
    return WatchState(conditions=parse_conditions(conditions), started_at=T0, **kw)


def fired(watch: WatchState, *ops: Operation, now: float = T0 + 10) -> list[tuple[str, str]]:
    return [(e.operation.name.rsplit("/", 1)[-1], e.condition.value) for e in watch.observe(A, ops, now=now)]


def test_each_operation_and_condition_fires_once() -> None:
    watch = state("failed", "done")
    failed = op("f", error=9, start=T0, end=T0 + 5)
    assert fired(watch, failed) == [("f", "done"), ("f", "failed")]
    assert fired(watch, failed) == []
    watch.end_pass()
    assert fired(watch, failed) == []


def test_history_before_the_watermark_never_fires_unless_looked_back() -> None:
    old = op("old", error=9, start=T0 - 100, end=T0 - 50)
    assert fired(state("failed"), old) == []
    assert fired(state("failed", lookback_s=60), old) == [("old", "failed")]
    cancelled = op("c", error=1, start=T0, end=T0 + 1)
    assert fired(state("failed"), cancelled) == []
    assert fired(state("cancelled"), cancelled) == [("c", "cancelled")]


def test_unknown_end_time_counts_as_history_in_the_first_pass_only() -> None:
    watch = state("failed")
    assert fired(watch, op("before", error=9)) == []  # no end time, already failed when the watch began
    watch.end_pass()
    assert fired(watch, op("before", error=9)) == []  # and it stays quiet
    assert fired(watch, op("after", error=9)) == [("after", "failed")]  # new since the first pass


def test_long_running_fires_when_the_threshold_is_crossed() -> None:
    watch = state("long_running", long_running_after_s=60)
    running = op("r", done=False, start=T0)
    assert fired(watch, running, now=T0 + 59) == []
    assert fired(watch, running, now=T0 + 61) == [("r", "long_running")]
    assert fired(watch, running, now=T0 + 120) == []
    crossed_before = op("early", done=False, start=T0 - 3600)
    assert fired(watch, crossed_before, now=T0 + 1) == []  # crossed before the watch started
    assert fired(watch, op("nostart", done=False), now=T0 + 999) == []  # age unknown: never guessed
    with pytest.raises(ValueError, match="threshold"):
        state("long_running")


def test_memory_forgets_operations_no_longer_listed() -> None:
    watch = state("failed")
    watch.end_pass()
    fired(watch, op("x", error=9))
    assert watch.remembered == 1
    watch.end_pass()  # "x" was seen in this pass: kept
    assert watch.remembered == 1
    watch.end_pass()  # not listed in the last pass (deleted or expired): forgotten
    assert watch.remembered == 0


def test_payload_is_json_with_a_stable_dedup_key() -> None:
    watch = state("failed")
    (event,) = watch.observe(A, [op("f", error=9, start=T0, end=T0 + 5)], now=T0 + 10)
    payload = event.to_payload()
    assert json.loads(json.dumps(payload)) == payload
    assert payload["dedup_key"] == "projects/p/regions/a/operations/f#failed"
    assert payload["condition"] == "failed" and payload["service"] == "dataproc"
    assert payload["collection"] == "projects/p/regions/a"
    assert payload["operation"]["state"] == "failed" and payload["operation"]["error_code"] == 9
    assert payload["event_time"] == payload["operation"]["end_time"]


def test_conditions_are_checked() -> None:
    assert parse_conditions(["FAILED", "failed", "done"]) == (Condition.DONE, Condition.FAILED)
    with pytest.raises(ValueError, match="unknown condition"):
        parse_conditions(["exploded"])
    with pytest.raises(ValueError, match="empty"):
        parse_conditions([])

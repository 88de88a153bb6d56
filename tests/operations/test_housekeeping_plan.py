"""The housekeeping decisions, without a server: operations + now + thresholds -> planned actions and skips."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_gcp_ops.operations.housekeeping import (
    REASONS,
    PlannedAction,
    Report,
    Skipped,
    format_table,
    housekeeping_parents,
    plan_housekeeping,
)
from airflow_provider_gcp_ops.operations.model import Operation, Status
from airflow_provider_gcp_ops.operations.services import get_service

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
HOUR = 3600.0
DAY = 24 * HOUR


def _ts(ago_s: float) -> str:
    return (NOW - timedelta(seconds=ago_s)).isoformat().replace("+00:00", "Z")


def running(name: str, started_ago: float | None) -> Operation:
    md = {"createTime": _ts(started_ago)} if started_ago is not None else {"state": "RUNNING"}
    return Operation(name=f"projects/p/locations/l/operations/{name}", done=False, metadata=md)


def done(name: str, started_ago: float | None, ended_ago: float | None = None, error: int | None = None) -> Operation:
    md: dict[str, Any] = {}
    if started_ago is not None:
        md["createTime"] = _ts(started_ago)
    if ended_ago is not None:
        md["endTime"] = _ts(ended_ago)
    return Operation(
        name=f"projects/p/locations/l/operations/{name}",
        done=True,
        metadata=md,
        error=Status(error) if error is not None else None,
    )


def _plan(ops: list[Operation], **kw: Any) -> Any:
    kw.setdefault("cancel_running_older_than", 6 * HOUR)
    kw.setdefault("delete_done_older_than", 7 * DAY)
    return plan_housekeeping(ops, now=NOW, **kw)


def _short(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def test_cancels_old_running_and_deletes_old_done_and_leaves_the_rest() -> None:
    plan = _plan(
        [
            running("old-run", 7 * HOUR),
            running("young-run", 1 * HOUR),
            done("old-done", 30 * DAY, 10 * DAY),
            done("young-done", 30 * DAY, 1 * DAY),  # started long ago, but ended recently: age from end_time
            done("old-failed", 9 * DAY, error=9),  # no end time: age from start_time
        ]
    )
    assert [(a.verb, _short(a.name)) for a in plan.actions] == [
        ("cancel", "old-run"),
        ("delete", "old-done"),
        ("delete", "old-failed"),
    ]
    assert plan.actions[0].age_s == pytest.approx(7 * HOUR)
    assert plan.actions[2].state == "failed"
    assert (plan.listed, plan.untouched, plan.skipped) == (5, 2, [])
    assert dict(plan.by_state) == {"running": 2, "succeeded": 2, "failed": 1}


def test_thresholds_are_inclusive() -> None:
    plan = _plan([running("edge", 6 * HOUR), done("edge-done", 8 * DAY, 7 * DAY)])
    assert [a.verb for a in plan.actions] == ["cancel", "delete"]


def test_no_threshold_means_untouched() -> None:
    ops = [running("r", 100 * DAY), done("d", 100 * DAY, 100 * DAY)]
    only_delete = _plan(ops, cancel_running_older_than=None)
    assert [a.verb for a in only_delete.actions] == ["delete"]
    assert only_delete.untouched == 1
    only_cancel = _plan(ops, delete_done_older_than=None)
    assert [a.verb for a in only_cancel.actions] == ["cancel"]


def test_unknown_ages_are_skipped_with_a_reason() -> None:
    plan = _plan([running("no-start", None), done("no-times", None)])
    assert plan.actions == []
    assert {(_short(s.name), s.reason) for s in plan.skipped} == {
        ("no-start", "unknown_start_time"),
        ("no-times", "unknown_end_time"),
    }


def test_verbs_the_service_lacks_are_skipped_only_when_due() -> None:
    ops = [running("old", 7 * HOUR), running("young", HOUR), done("old-done", 8 * DAY, 8 * DAY), running("x", None)]
    plan = _plan(ops, can_cancel=False, can_delete=False)
    assert plan.actions == []
    assert {(_short(s.name), s.reason) for s in plan.skipped} == {
        ("old", "service_has_no_cancel"),
        ("old-done", "service_has_no_delete"),
        ("x", "service_has_no_cancel"),  # unknown age, but it could never be cancelled anyway
    }
    assert plan.untouched == 1


def test_delete_states_keep_failures() -> None:
    plan = _plan(
        [done("ok", 9 * DAY, 8 * DAY), done("bad", 9 * DAY, 8 * DAY, error=13), done("cx", 9 * DAY, 8 * DAY, error=1)],
        delete_states=("succeeded", "cancelled"),
    )
    assert sorted(_short(a.name) for a in plan.actions) == ["cx", "ok"]
    assert plan.skipped == [Skipped("projects/p/locations/l/operations/bad", "state_not_in_delete_states")]


def test_max_actions_keeps_cancels_first_then_the_oldest() -> None:
    ops = [
        done("d-8d", 9 * DAY, 8 * DAY),
        done("d-30d", 31 * DAY, 30 * DAY),
        running("r-7h", 7 * HOUR),
        running("r-2d", 2 * DAY),
    ]
    plan = _plan(ops, max_actions=3)
    assert [_short(a.name) for a in plan.actions] == ["r-2d", "r-7h", "d-30d"]
    assert [(_short(s.name), s.reason) for s in plan.skipped] == [("d-8d", "max_actions_reached")]
    assert _plan(ops, max_actions=0).actions == []


def test_duplicates_count_once_and_clock_skew_is_age_zero() -> None:
    op = running("future", -HOUR)  # started "in an hour": another clock is ahead of ours
    plan = _plan([op, op], cancel_running_older_than=0)
    assert plan.listed == 1
    assert plan.actions == [PlannedAction("cancel", op.name, "running", 0.0)]


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_housekeeping([], now=datetime(2025, 1, 1), cancel_running_older_than=1, delete_done_older_than=None)


def test_report_summary_is_json_and_small() -> None:
    ops = [running(f"r{i}", 7 * HOUR + i) for i in range(50)] + [running("nostart", None)]
    plan = _plan(ops)
    report = Report(
        service="datafusion", parents=["projects/p/locations/l"], dry_run=False, thresholds={}, max_examples=3
    )
    report.add_plan(plan)
    for action in plan.actions[:40]:
        report.performed(action)
    for action in plan.actions[40:45]:
        report.skip(action.name, "not_found")
    for action in plan.actions[45:]:
        report.error(action.name, action.verb, RuntimeError("boom"))
    summary = report.summary(now=NOW.isoformat())
    assert json.loads(json.dumps(summary)) == summary
    assert (summary["listed"], summary["planned"], summary["cancelled"], summary["deleted"]) == (
        51,
        {"cancel": 50, "delete": 0},
        40,
        0,
    )
    assert len(summary["cancelled_examples"]) == 3
    assert summary["skipped"]["by_reason"] == {"not_found": 5, "unknown_start_time": 1}
    assert summary["skipped"]["total"] == 6
    assert summary["errors"]["total"] == 5
    assert len(summary["errors"]["examples"]) == 3
    assert summary["errors"]["examples"][0]["error"] == "RuntimeError: boom"
    table = format_table("t", report.table_rows())
    assert "not_found: " + REASONS["not_found"] in table
    assert len({len(line) for line in table.splitlines()}) == 1  # a rectangle


@pytest.mark.parametrize(
    ("service", "locations", "expected"),
    [
        ("dataproc", ["us-central1"], ["projects/p/regions/us-central1", "projects/p/locations/us-central1"]),
        (
            "datafusion",
            ["us-central1", "europe-west1"],
            ["projects/p/locations/us-central1", "projects/p/locations/europe-west1"],
        ),
        ("dialogflow", ["global", "europe-west2"], ["projects/p", "projects/p/locations/europe-west2"]),
        ("spanner", ["my-instance"], ["projects/p/instances/my-instance"]),
        ("run", ["us-central1", "us-central1"], ["projects/p/locations/us-central1"]),
    ],
)
def test_parents_from_project_and_locations(service: str, locations: list[str], expected: list[str]) -> None:
    assert housekeeping_parents(get_service(service), "p", locations) == expected

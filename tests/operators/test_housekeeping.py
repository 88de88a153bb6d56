"""OperationsHousekeepingOperator through ``dag.test()`` against the emulator: at scale, under faults, bounded.

Every assertion about what happened is made at the emulator (its per-operation history and counters), not from
the operator's own summary alone.
"""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider_gcp_ops.operations import client_base
from airflow_provider_gcp_ops.operations.retry import DEFAULT_RETRY
from airflow_provider_gcp_ops.operators.housekeeping import OperationsHousekeepingOperator

from .dagtest import run_dag, ti_state, xcom

pytestmark = pytest.mark.usefixtures("airflow_db")

HOUR = 3600.0
DAY = 24 * HOUR
_runs = iter(range(10_000))


def _run(**kwargs: Any) -> Any:
    kwargs.setdefault("cancel_running_older_than", timedelta(hours=6))
    kwargs.setdefault("delete_done_older_than", timedelta(days=7))
    with DAG(f"housekeeping_{next(_runs)}", schedule=None) as dag:
        OperationsHousekeepingOperator(task_id="hk", **kwargs)
    return run_dag(dag)


def _seed(emu: Any, n: int, **kwargs: Any) -> list[str]:
    return [str(emu.admin.create_operation(**kwargs)["name"]) for _ in range(n)]


def _fate(emu: Any, name: str) -> tuple[bool, bool]:
    """(a cancel reached the operation, its record was deleted), from the emulator's history."""
    history = emu.admin.history(name)
    return history["cancel_requested_t"] is not None, bool(history["deleted"])


@pytest.fixture
def fast_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients built in this test retry quickly (the default policy backs off for up to 2 minutes)."""
    policy = dataclasses.replace(DEFAULT_RETRY, max_attempts=3, initial_backoff=0.01, max_backoff=0.05, deadline=5)
    monkeypatch.setattr(client_base, "DEFAULT_RETRY", policy)


def test_two_thousand_operations_across_pages_under_faults_with_bounded_concurrency(gcp_ops_emulator_env: Any) -> None:
    emu = gcp_ops_emulator_env
    project = {"service": "datafusion", "project": "hk"}
    old_running = _seed(emu, 300, location="us-central1", duration_s=10 * DAY, created_ago_s=7 * HOUR, **project)
    young_running = _seed(emu, 300, location="europe-west1", duration_s=10 * DAY, **project)
    old_done = _seed(emu, 600, location="europe-west1", done=True, created_ago_s=10 * DAY, **project)
    young_done = _seed(emu, 800, location="us-central1", done=True, created_ago_s=2 * DAY, **project)
    # Requests an earlier test left on the server (a stall, a timeout) would count in max_in_flight: let them end.
    quiet_by = time.monotonic() + 30
    while emu.admin.stats()["in_flight"] > 0 and time.monotonic() < quiet_by:
        time.sleep(0.1)
    emu.admin.configure(latency_s=0.02)
    emu.admin.set_faults(
        [
            {"route": "*", "kind": "429", "probability": 0.05, "count": 10, "retry_after_s": 0.05},
            {"route": "*", "kind": "503", "probability": 0.05, "count": 10},
        ],
        seed=7,
    )

    dr = _run(service="datafusion", project_id="hk", locations=["us-central1", "europe-west1"], page_size=100)

    assert ti_state(dr, "hk") == "success"
    summary = xcom(dr, "hk")
    assert json.loads(json.dumps(summary)) == summary
    assert len(json.dumps(summary)) < 10_000  # examples are capped: the XCom stays small
    assert summary["listed"] == 2000
    assert summary["listed_by_state"] == {"running": 600, "succeeded": 1400}
    assert (summary["cancelled"], summary["deleted"], summary["untouched"]) == (300, 600, 1100)
    assert summary["errors"] == {"total": 0, "examples": []}
    assert summary["skipped"]["total"] == 0
    assert summary["parents"] == ["projects/hk/locations/us-central1", "projects/hk/locations/europe-west1"]

    stats = emu.admin.stats()
    assert stats["faults"]["429"] > 0
    assert stats["faults"]["503"] > 0
    assert stats["max_in_flight"] <= 8
    assert stats["requests"]["list"] >= 20  # 2,000 operations, 100 a page (plus retried pages)
    assert (stats["operations_deleted"], stats["operations_live"]) == (600, 1400)
    verbs = {name: set(per) for name, per in stats["operations"].items()}  # routes each operation received
    assert all(verbs[n] == {"cancel"} for n in old_running)
    assert all(verbs[n] == {"delete"} for n in old_done)
    assert not any(n in verbs for n in young_running + young_done)
    # And the effect, from the per-operation history (a sample: each lookup is a request).
    assert all(_fate(emu, n) == (True, False) for n in old_running[:20])
    assert all(_fate(emu, n) == (False, True) for n in old_done[:20])


def test_under_a_request_quota_the_run_paces_itself_and_loses_nothing(gcp_ops_emulator_env: Any) -> None:
    """The emulator's quota answers 429 as Google's does (no Retry-After): every action still done, and the
    summary's pacing counts are the emulator's own."""
    emu = gcp_ops_emulator_env
    old_done = _seed(emu, 200, service="dataproc", done=True, created_ago_s=30 * DAY)
    emu.admin.configure(latency_s=0.01, rate_limit_per_s=60)

    dr = _run(service="dataproc", parents=["projects/demo-project/regions/us-central1"], max_concurrency=32)

    assert ti_state(dr, "hk") == "success"
    summary = xcom(dr, "hk")
    assert (summary["deleted"], summary["errors"]["total"], summary["skipped"]["total"]) == (200, 0, 0)
    stats = emu.admin.stats()
    assert stats["rate_limited"] > 0  # the quota bit (the first burst finds it)
    assert stats["operations_deleted"] == 200
    pacing = summary["pacing"]  # the pacer heard every answer the emulator gave
    assert pacing["throttled_429"] == stats["rate_limited"]
    assert pacing["admitted"] == stats["requests_total"] - stats["rate_limited"]
    assert pacing["rate_cuts"] >= 1 and pacing["final_rate_per_s"] < 60
    assert pacing["max_requests_per_second"] is None
    assert all(_fate(emu, n) == (False, True) for n in old_done[:10])


def test_a_ceiling_under_the_quota_meets_no_429(gcp_ops_emulator_env: Any) -> None:
    emu = gcp_ops_emulator_env
    _seed(emu, 60, service="dataproc", done=True, created_ago_s=30 * DAY)
    emu.admin.configure(rate_limit_per_s=40)

    dr = _run(
        service="dataproc",
        parents=["projects/demo-project/regions/us-central1"],
        max_concurrency=32,
        max_requests_per_second=30,
    )

    summary = xcom(dr, "hk")
    assert (summary["deleted"], summary["errors"]["total"]) == (60, 0)
    assert emu.admin.stats()["rate_limited"] == 0
    assert summary["pacing"] == {
        "max_requests_per_second": 30.0,
        "admitted": 61,  # one list page, sixty deletes
        "throttled_429": 0,
        "rate_cuts": 0,
        "final_rate_per_s": 30.0,
    }


def test_dry_run_changes_nothing(gcp_ops_emulator_env: Any) -> None:
    emu = gcp_ops_emulator_env
    _seed(emu, 150, service="dataproc", duration_s=10 * DAY, created_ago_s=DAY)
    _seed(emu, 150, service="dataproc", done=True, created_ago_s=30 * DAY)

    dr = _run(service="dataproc", parents=["projects/demo-project/regions/us-central1"], dry_run="{{ 'True' }}")

    summary = xcom(dr, "hk")
    assert summary["dry_run"] is True
    assert summary["planned"] == {"cancel": 150, "delete": 150}
    assert (summary["cancelled"], summary["deleted"]) == (0, 0)
    requests = emu.admin.stats()["requests"]
    assert (requests["cancel"], requests["delete"], requests["get"]) == (0, 0, 0)
    assert requests["list"] == 3


def test_errors_are_collected_the_rest_is_done_and_the_task_fails_at_the_end(
    gcp_ops_emulator_env: Any, fast_retry: None
) -> None:
    emu = gcp_ops_emulator_env
    emu.admin.configure(denied_projects=["locked"])  # its listing answers 403
    doomed = _seed(emu, 3, service="alloydb", project="ok", done=True, created_ago_s=30 * DAY)
    fine = _seed(emu, 20, service="alloydb", project="ok", done=True, created_ago_s=30 * DAY)
    # Every delete of the doomed ones answers 500, however often it is retried.
    emu.admin.set_faults([{"route": "delete", "kind": "500", "match": name.rsplit("/", 1)[-1]} for name in doomed])

    dr = _run(
        service="alloydb",
        parents=["projects/locked/locations/us-central1", "projects/ok/locations/us-central1"],
        max_examples=2,
    )

    assert ti_state(dr, "hk") == "failed"
    assert all(_fate(emu, n) == (False, True) for n in fine)
    assert all(_fate(emu, n) == (False, False) for n in doomed)
    summary = xcom(dr, "hk")  # pushed although the task failed
    assert summary["deleted"] == 20
    assert summary["errors"]["total"] == 4
    assert len(summary["errors"]["examples"]) == 2
    first = summary["errors"]["examples"][0]
    assert (first["name"], first["action"]) == ("projects/locked/locations/us-central1", "list")
    assert "PERMISSION_DENIED" in first["error"]


def test_fail_on_errors_false_succeeds_with_the_errors_in_the_summary(
    gcp_ops_emulator_env: Any, fast_retry: None
) -> None:
    emu = gcp_ops_emulator_env
    [doomed] = _seed(emu, 1, service="alloydb", done=True, created_ago_s=30 * DAY)
    emu.admin.set_faults([{"route": "delete", "kind": "502"}])
    dr = _run(service="alloydb", parents=["projects/demo-project/locations/us-central1"], fail_on_errors=False)
    assert ti_state(dr, "hk") == "success"
    summary = xcom(dr, "hk")
    assert summary["errors"]["total"] == 1
    assert summary["errors"]["examples"][0]["name"] == doomed
    assert summary["errors"]["examples"][0]["action"] == "delete"


def test_verbs_a_service_lacks_are_skipped_without_a_request(gcp_ops_emulator_env: Any) -> None:
    emu = gcp_ops_emulator_env
    # Dialogflow: no delete verb; its metadata has no times, so a running operation's age is unknown.
    _seed(emu, 2, service="dialogflow", done=True, created_ago_s=30 * DAY)
    _seed(emu, 1, service="dialogflow", duration_s=10 * DAY, created_ago_s=DAY)
    dr = _run(service="dialogflow", project_id="demo-project", locations=["global"])
    summary = xcom(dr, "hk")
    assert summary["parents"] == ["projects/demo-project"]
    assert summary["skipped"]["by_reason"] == {"service_has_no_delete": 2, "unknown_start_time": 1}
    # Composer: no cancel verb.
    _seed(emu, 2, service="composer", duration_s=10 * DAY, created_ago_s=DAY)
    dr = _run(service="composer", project_id="demo-project", locations=["us-central1"])
    assert xcom(dr, "hk")["skipped"]["by_reason"] == {"service_has_no_cancel": 2}
    requests = emu.admin.stats()["requests"]
    assert (requests["cancel"], requests["delete"]) == (0, 0)


def test_races_and_per_operation_refusals_are_skips(gcp_ops_emulator_env: Any) -> None:
    emu = gcp_ops_emulator_env
    # Dataproc with project + locations lists regions/ (clusters) and locations/ (batches).
    [refuses] = _seed(emu, 1, service="dataproc", duration_s=10 * DAY, created_ago_s=DAY, cancel="unimplemented")
    [batch] = _seed(emu, 1, service="dataproc", parent="projects/demo-project/locations/us-central1",
                    duration_s=10 * DAY, created_ago_s=DAY)  # fmt: skip
    dr = _run(service="dataproc", project_id="demo-project", locations=["us-central1"], max_actions=1)
    summary = xcom(dr, "hk")
    assert summary["parents"] == [
        "projects/demo-project/regions/us-central1",
        "projects/demo-project/locations/us-central1",
    ]
    assert summary["skipped"]["by_reason"] == {"max_actions_reached": 1, "unimplemented_by_server": 1}
    assert (summary["cancelled"], summary["errors"]["total"]) == (0, 0)
    # The second run takes the next one (both are equally old: deterministic by name).
    dr = _run(service="dataproc", project_id="demo-project", locations=["us-central1"])
    assert xcom(dr, "hk")["cancelled"] == 1
    assert _fate(emu, batch) == (True, False)
    assert _fate(emu, refuses) == (False, False)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "parents"),
        ({"parents": ["projects/p/regions/r"], "project_id": "p"}, "not both"),
        ({"parents": "projects/p/regions/r"}, "lists of strings"),
        (
            {"parents": ["projects/p/regions/r"], "cancel_running_older_than": None, "delete_done_older_than": None},
            "nothing to do",
        ),
        ({"parents": ["projects/p/regions/r"], "max_concurrency": 65}, "max_concurrency"),
        ({"parents": ["projects/p/regions/r"], "delete_states": ["running"]}, "delete_states"),
        ({"parents": ["projects/p/regions/r"], "cancel_running_older_than": -1}, "non-negative"),
        ({"parents": ["projects/p/regions/r"], "max_requests_per_second": 0}, "max_requests_per_second"),
        ({"parents": ["projects/p/regions/r"], "max_requests_per_second": "600"}, "max_requests_per_second"),
    ],
)
def test_parameters_are_validated_when_the_dag_is_built(kwargs: dict[str, Any], match: str) -> None:
    kwargs.setdefault("cancel_running_older_than", 60)
    with pytest.raises(ValueError, match=match):
        OperationsHousekeepingOperator(task_id="x", service="dataproc", **kwargs)


def test_a_connection_from_the_environment_is_read_in_the_async_path(
    gcp_ops_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The async client gets its connection with ``aget_connection`` inside the task: here an env connection."""
    emu = gcp_ops_emulator
    monkeypatch.delenv("GCP_OPERATIONS_EMULATOR_HOST", raising=False)
    conn = {"conn_type": "google_cloud_platform", "extra": {"emulator_host": emu.host}}
    monkeypatch.setenv("AIRFLOW_CONN_HOUSEKEEPING_EMULATOR", json.dumps(conn))
    [old] = _seed(emu, 1, service="datalineage", done=True, created_ago_s=30 * DAY)
    dr = _run(
        service="datalineage",
        parents=["projects/demo-project/locations/us-central1"],
        gcp_conn_id="housekeeping_emulator",
    )
    assert ti_state(dr, "hk") == "success"
    assert _fate(emu, old) == (False, True)


def test_execution_timeout_interrupts_the_run(gcp_ops_emulator_env: Any) -> None:
    emu = gcp_ops_emulator_env
    _seed(emu, 30, service="datalineage", done=True, created_ago_s=30 * DAY)
    emu.admin.configure(latency_s=0.5)  # 30 deletes one at a time: 15 s, far beyond the timeout
    started = time.monotonic()
    dr = _run(
        service="datalineage",
        parents=["projects/demo-project/locations/us-central1"],
        max_concurrency=1,
        execution_timeout=timedelta(seconds=2),
    )
    assert ti_state(dr, "hk") == "failed"
    assert time.monotonic() - started < 10
    assert emu.admin.stats()["operations_deleted"] < 30


def test_the_connections_project_is_the_default_project(gcp_ops_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    emu = gcp_ops_emulator
    monkeypatch.delenv("GCP_OPERATIONS_EMULATOR_HOST", raising=False)
    conn = {"conn_type": "google_cloud_operations", "extra": {"emulator_host": emu.host, "project": "conn-project"}}
    monkeypatch.setenv("AIRFLOW_CONN_HK_WITH_PROJECT", json.dumps(conn))
    [old] = _seed(emu, 1, service="datalineage", project="conn-project", done=True, created_ago_s=30 * DAY)
    [other] = _seed(emu, 1, service="datalineage", project="other-project", done=True, created_ago_s=30 * DAY)
    dr = _run(service="datalineage", locations=["us-central1"], gcp_conn_id="hk_with_project")
    assert ti_state(dr, "hk") == "success"
    assert xcom(dr, "hk")["parents"] == ["projects/conn-project/locations/us-central1"]
    assert _fate(emu, old) == (False, True)
    assert _fate(emu, other) == (False, False)


def test_without_any_project_the_task_fails_before_any_request(
    gcp_ops_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GCP_OPERATIONS_EMULATOR_HOST", raising=False)
    conn = {"conn_type": "google_cloud_operations", "extra": {"emulator_host": gcp_ops_emulator.host}}
    monkeypatch.setenv("AIRFLOW_CONN_HK_NO_PROJECT", json.dumps(conn))
    dr = _run(service="datalineage", locations=["us-central1"], gcp_conn_id="hk_no_project")
    assert ti_state(dr, "hk") == "failed"
    assert gcp_ops_emulator.admin.stats()["requests_total"] == 0

"""The event-driven watcher in a real deployment (``dags/gcp_ops_watcher.py``): failures at the emulator start runs.

One operation failing starts one run of the watching DAG, with that operation in its triggering asset event; a
second failure starts a second run; a triggerer restart repeats neither (``lookback=0``: nothing before the new
watch's start fires again) and the new watch reports the next failure.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer

from .harness import Api, Deployment, wait_for

pytestmark = [pytest.mark.system, pytest.mark.timeout(600)]

DAG_ID = "gcp_ops_sys_watcher"
PROJECT = "watcher-system"  # dags/gcp_ops_watcher.py
POLL_INTERVAL_S = 2.0
RUN_WAIT_S = 90.0  # failure at the emulator -> a successful run (observed: a poll + the scheduler's loop)


def runs(api: Api) -> list[dict[str, Any]]:
    body = api.call("GET", f"/api/v2/dags/{DAG_ID}/dagRuns", params={"limit": 100})
    return sorted(body["dag_runs"], key=lambda r: str(r.get("run_after") or r.get("queued_at")))


def payloads(api: Api, run_id: str) -> list[dict[str, Any]]:
    body = api.call("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/upstreamAssetEvents")
    return [event["extra"]["payload"] for event in body["asset_events"]]


def fail_one(emu: EmulatorServer) -> str:
    op = emu.admin.create_operation(
        "dataproc", project=PROJECT, duration_s=0.5, outcome={"error": {"code": 13, "message": "boom"}}
    )
    return str(op["name"])


def wait_runs(api: Api, count: int) -> list[dict[str, Any]]:
    def done() -> list[dict[str, Any]] | None:
        found = runs(api)
        return found if len(found) >= count and all(r["state"] == "success" for r in found) else None

    result: list[dict[str, Any]] = wait_for(
        f"{count} successful run(s) of {DAG_ID}", done, timeout=RUN_WAIT_S, interval=1, on_timeout=str(runs(api))
    )
    return result


def list_calls(emu: EmulatorServer) -> int:
    return int(emu.admin.stats()["requests"]["list"])  # only the watcher lists in the system deployment


def test_each_failure_starts_one_run_and_a_triggerer_restart_repeats_none(
    api: Api, deployment: Deployment, system_emulator: EmulatorServer
) -> None:
    emu = system_emulator
    started = time.monotonic()
    api.wait_for_dags({DAG_ID}, timeout=180)
    wait_for("the watcher's first polls", lambda: list_calls(emu) >= 2, timeout=180, interval=1)
    assert runs(api) == []

    first = fail_one(emu)
    [run1] = wait_runs(api, 1)
    assert run1["run_type"] == "asset_triggered"
    assert [p["operation"]["name"] for p in payloads(api, run1["dag_run_id"])] == [first]
    [event] = payloads(api, run1["dag_run_id"])
    assert event["condition"] == "failed" and event["dedup_key"] == f"{first}#failed"
    assert event["operation"]["error_code"] == 13 and event["operation"]["error_message"] == "boom"
    assert api.xcom(DAG_ID, run1["dag_run_id"], "handle", "return_value") == [f"{first}#failed"]

    second = fail_one(emu)
    found = wait_runs(api, 2)
    assert len(found) == 2
    assert [p["operation"]["name"] for p in payloads(api, found[1]["dag_run_id"])] == [second]

    restart = deployment.restart("triggerer")
    before = list_calls(emu)
    # The new triggerer runs the watcher again: several full polls, and the two failures do not fire again.
    wait_for("the restarted watcher's polls", lambda: list_calls(emu) >= before + 3, timeout=180, interval=1)
    time.sleep(2 * POLL_INTERVAL_S)
    assert len(runs(api)) == 2

    third = fail_one(emu)
    found = wait_runs(api, 3)
    assert len(found) == 3
    assert [p["operation"]["name"] for p in payloads(api, found[2]["dag_run_id"])] == [third]
    time.sleep(2 * POLL_INTERVAL_S)
    assert len(runs(api)) == 3
    print(
        f"\nwatcher system test: {time.monotonic() - started:.1f} s (triggerer stop {restart['stop_s']:.1f} s, "
        f"new heartbeat {restart['healthy_s']:.1f} s, list calls {list_calls(emu)})"
    )


test_each_failure_starts_one_run_and_a_triggerer_restart_repeats_none.dag_ids = (DAG_ID,)  # type: ignore[attr-defined]

"""Helpers of the production deployment's cases: who polled which operation (the emulator's history records each
request's User-Agent, which names the sending pid), task instances of a run, the production-only fixture."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer

from .harness import Api, Deployment, HarnessError, wait_for
from .production_deployment import ProductionDeployment

_PID = re.compile(r"\(pid (\d+)\)")


# Skips the production cases before any fixture runs (so no deployment is started for nothing).
ONLY_PRODUCTION = pytest.mark.skipif(
    "config.getoption('--system-deployment') != 'production'", reason="needs --system-deployment=production"
)


def as_production(deployment: Deployment) -> ProductionDeployment:
    assert isinstance(deployment, ProductionDeployment), "run with --system-deployment=production"
    return deployment


def operations(emu: EmulatorServer, project: str) -> list[str]:
    prefix = f"projects/{project}/"
    return sorted(n for n in emu.admin.stats()["operations"] if n.startswith(prefix))


def polls(emu: EmulatorServer, name: str) -> list[tuple[float, int | None]]:
    """``[(t, pid)]`` of every GET of ``name`` (t: seconds since the operation was created)."""
    out = []
    for req in emu.admin.history(name)["requests"]:
        if req["verb"] != "get":
            continue
        match = _PID.search(req.get("client", ""))
        out.append((float(req["t"]), int(match.group(1)) if match else None))
    return out


def cancels(emu: EmulatorServer, name: str) -> int:
    return int(emu.admin.stats()["operations"].get(name, {}).get("cancel", 0))


def holder(emu: EmulatorServer, name: str, pids: dict[str, set[int]]) -> str | None:
    """Which component's process sent the operation's latest GET."""
    seen = polls(emu, name)
    if not seen:
        return None
    pid = seen[-1][1]
    return next((component for component, owned in pids.items() if pid in owned), None)


def task_instances(api: Api, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """Every task instance of the run (the REST API pages by at most ``[api] maximum_page_limit``, 100)."""
    out: list[dict[str, Any]] = []
    while True:
        body = api.call(
            "GET",
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
            params={"limit": 100, "offset": len(out), "order_by": "map_index"},
        )
        out.extend(body["task_instances"])
        if not body["task_instances"] or len(out) >= body["total_entries"]:
            return out


def wait_states(
    api: Api, dag_id: str, run_id: str, states: set[str], *, count: int, timeout: float
) -> list[dict[str, Any]]:
    """Wait until ``count`` task instances of the run are in ``states``."""

    def probe() -> list[dict[str, Any]] | None:
        tis = task_instances(api, dag_id, run_id)
        return tis if sum(ti["state"] in states for ti in tis) >= count else None

    def seen() -> str:
        tis = task_instances(api, dag_id, run_id)
        return str({s: sum(ti["state"] == s for ti in tis) for s in {ti["state"] for ti in tis}})

    try:
        result: list[dict[str, Any]] = wait_for(
            f"{count} tasks of {dag_id} in {sorted(states)}", probe, timeout=timeout, interval=2
        )
    except Exception as exc:
        raise AssertionError(f"{exc}; states now {seen()}") from None
    return result


def operation_name(api: Api, dag_id: str, run_id: str, task_id: str, timeout: float = 120) -> str:
    """The operation the task's current try started (XCom ``operation_name``, pushed right after the start call)."""

    def probe() -> str | None:
        try:
            return str(api.xcom(dag_id, run_id, task_id, "operation_name"))
        except HarnessError:  # 404 until the task pushed it
            return None

    return str(wait_for(f"{dag_id}.{task_id}'s operation name", probe, timeout=timeout, interval=1))


def since(started: float) -> float:
    return round(time.monotonic() - started, 1)

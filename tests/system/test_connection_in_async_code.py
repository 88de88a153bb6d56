"""A metastore connection with extras, used by a task that runs its own event loop and by a trigger.

In a task process ``aget_connection`` is not safe on every version: on Airflow 3.1 the task's comms have no
``asend`` (``CommsDecoder.asend`` raises ``NotImplementedError``, which the execution-API secrets backend turns
into "not found"), so a metastore connection "isn't defined"; on 3.3.1 it can raise ``DeadlockImminentError``
(apache/airflow#71891, fixed in 3.3.2 by apache/airflow#72895). Housekeeping therefore resolves its connection
with the sync ``get_connection`` before its event loop starts; the trigger uses ``aget_connection`` in the
triggerer, whose comms implement ``asend`` on every version. Run on every version leg, with the real supervisor.
"""

from __future__ import annotations

import json

import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer

from .dags.gcp_ops_connection import CONN_ID, DAG_ID
from .harness import Api

pytestmark = [pytest.mark.system, pytest.mark.timeout(600)]


def test_connection_with_extras_resolves_in_a_task_event_loop_and_in_the_triggerer(
    api: Api, system_emulator: EmulatorServer
) -> None:
    extra = {"project": "sys", "num_retries": 4, "scope": "https://www.googleapis.com/auth/cloud-platform"}
    api.call(
        "POST",
        "/api/v2/connections",
        json={"connection_id": CONN_ID, "conn_type": "google_cloud_platform", "extra": json.dumps(extra)},
    )
    api.wait_for_dags({DAG_ID}, timeout=180)
    lists_before = int(system_emulator.admin.stats()["requests"].get("list", 0))
    run_id = api.trigger(DAG_ID)

    api.wait_state(DAG_ID, run_id, "housekeeping", {"success", "failed"}, timeout=180)
    api.wait_state(DAG_ID, run_id, "start", {"success", "failed"}, timeout=180)
    assert api.state(DAG_ID, run_id, "housekeeping") == "success"
    assert api.state(DAG_ID, run_id, "start") == "success"
    summary = api.xcom(DAG_ID, run_id, "housekeeping", "return_value")
    assert summary["dry_run"] is True
    assert summary["parents"] == ["projects/sys/regions/us-central1"], summary
    assert int(system_emulator.admin.stats()["requests"].get("list", 0)) > lists_before


test_connection_with_extras_resolves_in_a_task_event_loop_and_in_the_triggerer.dag_ids = (DAG_ID,)  # type: ignore[attr-defined]

"""GetOperationOperator and ListOperationsOperator through ``dag.test()`` against the emulator over real HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider_gcp_ops.operators.inspect import GetOperationOperator, ListOperationsOperator

from .dagtest import run_dag, ti_state, xcom

pytestmark = pytest.mark.usefixtures("airflow_db")

_runs = iter(range(10_000))


def _run(operator: type, **kwargs: Any) -> Any:
    with DAG(f"inspect_{next(_runs)}", schedule=None) as dag:
        operator(task_id="t", **kwargs)
    return run_dag(dag)


def test_get_returns_the_summary(gcp_ops_emulator_env: Any) -> None:
    emu = gcp_ops_emulator_env
    op = emu.admin.create_operation(
        service="datafusion", done=True, outcome={"error": {"code": 9, "message": "instance is busy"}}
    )
    dr = _run(GetOperationOperator, operation_name=op["name"], service="datafusion", include_metadata=True)
    result = xcom(dr, "t")
    assert json.loads(json.dumps(result)) == result
    assert (result["name"], result["service"], result["api_version"]) == (op["name"], "datafusion", "v1")
    assert (result["state"], result["done"], result["error_code"], result["error_status"]) == (
        "failed",
        True,
        9,
        "FAILED_PRECONDITION",
    )
    assert result["error_message"] == "instance is busy"
    assert result["start_time"] is not None
    assert result["end_time"] is not None
    assert result["metadata"]["@type"].endswith("datafusion.v1.OperationMetadata")
    assert result["metadata_truncated"] is False
    assert "response" not in result
    # Only the task's GET: it recorded the instance the metadata names, so the "Target resource" link (Data Fusion
    # names it only in the metadata) needs no request of its own when the run ends.
    assert emu.admin.stats()["requests"]["get"] == 1
    assert xcom(dr, "t", "_link_TargetResourceLink").startswith("https://console.cloud.google.com/data-fusion/")
    recorded = xcom(dr, "t", "gcp_operation")
    assert recorded == {
        "name": op["name"],
        "service": "datafusion",
        "api_version": "v1",
        "target": result["metadata"]["target"],
    }


def test_get_of_a_running_operation_and_a_large_metadata(gcp_ops_emulator_env: Any) -> None:
    emu = gcp_ops_emulator_env
    op = emu.admin.create_operation(service="dataproc", duration_s=600, metadata={"blob": "x" * 40_000})
    dr = _run(GetOperationOperator, operation_name=op["name"], include_metadata=True, include_response=True)
    result = xcom(dr, "t")
    assert (result["state"], result["done"], result["end_time"]) == ("running", False, None)
    assert (result["metadata"], result["metadata_truncated"]) == (None, True)
    assert (result["response"], result["response_truncated"]) == (None, False)


def test_get_of_a_missing_operation_fails(gcp_ops_emulator_env: Any) -> None:
    dr = _run(GetOperationOperator, operation_name="projects/p/regions/r/operations/gone")
    assert ti_state(dr, "t") == "failed"


def test_list_returns_summaries_with_the_filter_and_the_cap(gcp_ops_emulator_env: Any) -> None:
    emu = gcp_ops_emulator_env
    for _ in range(7):
        emu.admin.create_operation(service="datalineage", location="us", done=True)
    for _ in range(3):
        emu.admin.create_operation(service="datalineage", location="us", duration_s=600)
    emu.admin.create_operation(service="datalineage", location="eu", done=True)  # another parent

    dr = _run(ListOperationsOperator, parent="projects/demo-project/locations/us", service="datalineage")
    entries = xcom(dr, "t")
    assert len(entries) == 10
    assert json.loads(json.dumps(entries)) == entries
    assert {e["state"] for e in entries} == {"succeeded", "running"}
    assert set(entries[0]) == {
        "name",
        "done",
        "state",
        "error_code",
        "error_status",
        "error_message",
        "metadata_type",
        "start_time",
        "end_time",
    }

    dr = _run(
        ListOperationsOperator,
        parent="projects/demo-project/locations/us/operations",
        service="datalineage",
        filter="done = true",
        page_size=2,
        max_results=5,
    )
    entries = xcom(dr, "t")
    assert len(entries) == 5
    assert all(e["done"] and e["end_time"] for e in entries)
    # 5 + 1 (to know whether there are more) entries at 2 per page: 3 pages, not the 4 that 7 would take.
    assert emu.admin.stats()["requests"]["list"] == 1 + 3


def test_list_without_a_cap_and_an_empty_parent(gcp_ops_emulator_env: Any) -> None:
    emu = gcp_ops_emulator_env
    for _ in range(120):
        emu.admin.create_operation(service="dataproc", done=True)
    dr = _run(ListOperationsOperator, parent="projects/demo-project/regions/us-central1", max_results=None)
    assert len(xcom(dr, "t")) == 120
    dr = _run(ListOperationsOperator, parent="projects/demo-project/regions/europe-west1")
    assert xcom(dr, "t") == []


def test_an_invalid_parent_fails_before_any_request(gcp_ops_emulator_env: Any) -> None:
    dr = _run(ListOperationsOperator, parent="https://evil.example.com/v1/projects/p/locations/l", service="alloydb")
    assert ti_state(dr, "t") == "failed"
    assert gcp_ops_emulator_env.admin.stats()["requests_total"] == 0


def test_list_parameters_are_validated_when_the_dag_is_built() -> None:
    with pytest.raises(ValueError, match="max_results"):
        ListOperationsOperator(task_id="x", parent="projects/p/regions/r", max_results=-1)


def test_these_operator_modules_import_cheaply() -> None:
    """Like ``test_import_cost``: DAG processors import them on every parse; no HTTP, auth, hook or library."""
    import subprocess
    import sys

    from .test_import_cost import NEVER, _matches

    probe = (
        "import sys, json, airflow.sdk\n"
        "import airflow_provider_gcp_ops.operators.inspect, airflow_provider_gcp_ops.operators.delete\n"
        "import airflow_provider_gcp_ops.operators.housekeeping\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    modules = json.loads(out.stdout.strip().splitlines()[-1])
    assert [m for m in modules if _matches(m, NEVER)] == []
    assert "airflow_provider_gcp_ops.operations.housekeeping" not in modules

"""CancelOperationOperator through ``dag.test()`` against the emulator over real HTTP, in the worker and deferred.

Each test asserts at the emulator how many cancels really arrived: the outcome must be what happened, not what
the operator believes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider_gcp_ops._compat import AirflowFailException
from airflow_provider_gcp_ops.operators.cancel import CancelOperationOperator

from .dagtest import cancels, run_dag, ti_state, total_cancels, xcom

pytestmark = pytest.mark.usefixtures("airflow_db")

MODES = [pytest.param(False, id="worker"), pytest.param(True, id="deferred")]
_runs = iter(range(10_000))


def _run(**op_kwargs: Any) -> Any:
    with DAG(f"cancel_{next(_runs)}", schedule=None) as dag:
        CancelOperationOperator(task_id="cancel", poll_interval=0.1, **op_kwargs)
    return run_dag(dag)


@pytest.mark.parametrize("deferrable", MODES)
def test_cancels_and_waits_until_cancelled(
    gcp_ops_emulator_env: Any, trigger_events: list[dict[str, Any]], deferrable: bool
) -> None:
    emu = gcp_ops_emulator_env
    op = emu.admin.create_operation(service="dataproc", duration_s=600, cancel_delay_s=0.3)
    dr = _run(operation_name=op["name"], deferrable=deferrable)
    assert ti_state(dr, "cancel") == "success"
    result = xcom(dr, "cancel")
    assert result["outcome"] == "cancelled"
    assert result["state"] == "cancelled"
    assert result["error_code"] == 1
    assert result["name"] == op["name"]
    assert result["service"] == "dataproc"
    assert json.loads(json.dumps(result)) == result
    assert cancels(emu, op["name"]) == 1
    # Deferred means the trigger really ran (inline under dag.test) and produced the outcome.
    assert len(trigger_events) == (1 if deferrable else 0)
    recorded = xcom(dr, "cancel", "gcp_operation")
    # The task saw the metadata (its GET): the cluster it names is recorded for the "Target resource" link.
    region = op["name"].rsplit("/operations/", 1)[0]
    assert recorded.pop("target") == f"{region}/clusters/{op['metadata']['clusterName']}"
    assert recorded == {"name": op["name"], "service": "dataproc", "api_version": "v1"}


def test_accepts_a_full_resource_name_and_a_rest_url(gcp_ops_emulator_env: Any) -> None:
    emu = gcp_ops_emulator_env
    first = emu.admin.create_operation(service="dataproc", duration_s=600, cancel_delay_s=0.1)
    second = emu.admin.create_operation(service="alloydb", duration_s=600, cancel_delay_s=0.1)
    dr1 = _run(operation_name=f"//dataproc.googleapis.com/{first['name']}")
    dr2 = _run(operation_name=f"https://alloydb.googleapis.com/v1/{second['name']}")
    assert xcom(dr1, "cancel")["outcome"] == "cancelled"
    assert xcom(dr2, "cancel")["outcome"] == "cancelled"
    assert (cancels(emu, first["name"]), cancels(emu, second["name"])) == (1, 1)


@pytest.mark.parametrize("deferrable", MODES)
@pytest.mark.parametrize(("policy", "state"), [("fail", "failed"), ("warn", "success")])
def test_finished_anyway(gcp_ops_emulator_env: Any, deferrable: bool, policy: str, state: str) -> None:
    emu = gcp_ops_emulator_env
    # The service accepts the cancel but the work completes anyway.
    op = emu.admin.create_operation(service="dataproc", duration_s=1.0, cancel="ignored")
    dr = _run(operation_name=op["name"], deferrable=deferrable, on_finished_anyway=policy)
    assert ti_state(dr, "cancel") == state
    assert cancels(emu, op["name"]) == 1
    if policy == "warn":
        result = xcom(dr, "cancel")
        assert (result["outcome"], result["state"]) == ("finished_anyway", "succeeded")


def test_finished_anyway_with_a_failure_reports_its_error(gcp_ops_emulator_env: Any) -> None:
    emu = gcp_ops_emulator_env
    op = emu.admin.create_operation(
        service="dataproc",
        duration_s=0.8,
        cancel="ignored",
        outcome={"error": {"code": 9, "message": "cluster is in an error state"}},
    )
    dr = _run(operation_name=op["name"], on_finished_anyway="warn")
    result = xcom(dr, "cancel")
    assert result["outcome"] == "finished_anyway"
    assert (result["state"], result["error_code"], result["error_status"]) == ("failed", 9, "FAILED_PRECONDITION")
    assert result["error_message"] == "cluster is in an error state"


@pytest.mark.parametrize(("policy", "state"), [("succeed", "success"), ("fail", "failed")])
def test_already_done_sends_no_cancel(gcp_ops_emulator_env: Any, policy: str, state: str) -> None:
    emu = gcp_ops_emulator_env
    op = emu.admin.create_operation(service="spanner", done=True)
    dr = _run(operation_name=op["name"], on_already_done=policy)
    assert ti_state(dr, "cancel") == state
    assert total_cancels(emu) == 0
    if policy == "succeed":
        assert xcom(dr, "cancel")["outcome"] == "already_done"


@pytest.mark.parametrize(("policy", "state"), [("fail", "failed"), ("warn", "success"), ("skip", "skipped")])
def test_unimplemented_in_the_service_table_sends_nothing(gcp_ops_emulator_env: Any, policy: str, state: str) -> None:
    emu = gcp_ops_emulator_env
    op = emu.admin.create_operation(service="composer", duration_s=600)  # Composer has no cancel verb
    dr = _run(operation_name=op["name"], service="composer", on_unimplemented=policy)
    assert ti_state(dr, "cancel") == state
    assert total_cancels(emu) == 0
    if policy == "warn":
        assert xcom(dr, "cancel")["outcome"] == "unimplemented"


@pytest.mark.parametrize(("policy", "state"), [("fail", "failed"), ("warn", "success"), ("skip", "skipped")])
def test_unimplemented_by_the_server(gcp_ops_emulator_env: Any, policy: str, state: str) -> None:
    emu = gcp_ops_emulator_env
    op = emu.admin.create_operation(service="dataproc", duration_s=600, cancel="unimplemented")  # answers 501
    dr = _run(operation_name=op["name"], on_unimplemented=policy)
    assert ti_state(dr, "cancel") == state
    assert cancels(emu, op["name"]) == 1
    if policy == "warn":
        result = xcom(dr, "cancel")
        assert (result["outcome"], result["state"]) == ("unimplemented", "running")


def test_without_waiting(gcp_ops_emulator_env: Any) -> None:
    emu = gcp_ops_emulator_env
    op = emu.admin.create_operation(service="dataproc", duration_s=600, cancel_delay_s=30)
    dr = _run(operation_name=op["name"], wait_for_completion=False)
    result = xcom(dr, "cancel")
    assert (result["outcome"], result["state"]) == ("cancel_requested", "running")
    assert cancels(emu, op["name"]) == 1


@pytest.mark.parametrize("deferrable", MODES)
def test_timeout_while_the_cancel_does_not_land(gcp_ops_emulator_env: Any, deferrable: bool) -> None:
    emu = gcp_ops_emulator_env
    op = emu.admin.create_operation(service="dataproc", duration_s=600, cancel="ignored")
    dr = _run(operation_name=op["name"], deferrable=deferrable, timeout=1.0)
    assert ti_state(dr, "cancel") == "failed"
    assert cancels(emu, op["name"]) == 1  # no second cancel at the deadline


def test_an_invalid_name_fails_before_any_request(gcp_ops_emulator_env: Any) -> None:
    emu = gcp_ops_emulator_env
    dr = _run(operation_name="projects/p/regions/r/operations/../../x", service="dataproc")
    assert ti_state(dr, "cancel") == "failed"
    assert emu.admin.stats()["requests_total"] == 0


def test_parameters_are_validated_when_the_dag_is_built() -> None:
    with pytest.raises(ValueError, match="on_unimplemented"):
        CancelOperationOperator(task_id="t", operation_name="x", on_unimplemented="ignore")
    with pytest.raises(ValueError, match="timeout"):
        CancelOperationOperator(task_id="t", operation_name="x", timeout=-1)


def test_a_malformed_event_fails_with_a_clear_message() -> None:
    task = CancelOperationOperator(task_id="t", operation_name="projects/p/regions/r/operations/o", service="dataproc")
    with pytest.raises(AirflowFailException, match=r"invalid trigger event.*status"):
        task.execute_complete({}, event={"v": 1, "status": "maybe", "name": "x", "service": "dataproc"})
    with pytest.raises(AirflowFailException, match=r"invalid trigger event.*mapping"):
        task.execute_complete({}, event="done")
    other = {
        "v": 1,
        "status": "done",
        "name": "projects/p/regions/r/operations/other",
        "service": "dataproc",
        "api_version": "v1",
        "message": "",
        "operation": {"state": "cancelled"},
        "error_type": None,
    }
    with pytest.raises(AirflowFailException, match="watches"):
        task.execute_complete({}, event=other)

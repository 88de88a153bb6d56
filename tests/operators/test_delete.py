"""DeleteOperationOperator through ``dag.test()`` against the emulator: what was really deleted, asserted there."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider_gcp_ops.operators.delete import DeleteOperationOperator

from .dagtest import counts, run_dag, ti_state, xcom

pytestmark = pytest.mark.usefixtures("airflow_db")

_runs = iter(range(10_000))


def _run(**kwargs: Any) -> Any:
    with DAG(f"delete_{next(_runs)}", schedule=None) as dag:
        DeleteOperationOperator(task_id="delete", **kwargs)
    return run_dag(dag)


def _history(emu: Any, name: str) -> dict[str, Any]:
    return emu.admin.history(name)


def test_deletes_a_done_operation(gcp_ops_emulator_env: Any) -> None:
    emu = gcp_ops_emulator_env
    op = emu.admin.create_operation(service="datafusion", done=True)
    dr = _run(operation_name=op["name"], service="datafusion")
    assert ti_state(dr, "delete") == "success"
    result = xcom(dr, "delete")
    assert (result["outcome"], result["state"], result["name"]) == ("deleted", "succeeded", op["name"])
    assert counts(emu, op["name"]) == {"get": 1, "delete": 1}
    assert _history(emu, op["name"])["deleted"] is True


def test_refuses_a_running_operation_and_deletes_nothing(gcp_ops_emulator_env: Any) -> None:
    emu = gcp_ops_emulator_env
    op = emu.admin.create_operation(service="dataproc", duration_s=600)
    dr = _run(operation_name=op["name"])
    assert ti_state(dr, "delete") == "failed"
    assert counts(emu, op["name"]) == {"get": 1}
    assert _history(emu, op["name"])["deleted"] is False


def test_allow_running_deletes_the_record_without_cancelling(gcp_ops_emulator_env: Any) -> None:
    emu = gcp_ops_emulator_env
    op = emu.admin.create_operation(service="dataproc", duration_s=600)
    dr = _run(operation_name=op["name"], allow_running=True)
    assert ti_state(dr, "delete") == "success"
    assert (xcom(dr, "delete")["outcome"], xcom(dr, "delete")["state"]) == ("deleted", "running")
    assert counts(emu, op["name"]) == {"get": 1, "delete": 1}
    history = _history(emu, op["name"])
    assert history["deleted"] is True
    assert history["cancel_requested_t"] is None


@pytest.mark.parametrize(("not_found_ok", "state"), [(True, "success"), (False, "failed")])
def test_not_found(gcp_ops_emulator_env: Any, not_found_ok: bool, state: str) -> None:
    dr = _run(operation_name="projects/p/regions/us-central1/operations/gone", not_found_ok=not_found_ok)
    assert ti_state(dr, "delete") == state
    if not_found_ok:
        assert xcom(dr, "delete")["outcome"] == "not_found"
    assert gcp_ops_emulator_env.admin.stats()["requests"]["delete"] == 0


@pytest.mark.parametrize(("policy", "state"), [("fail", "failed"), ("warn", "success"), ("skip", "skipped")])
def test_dialogflow_has_no_delete_and_no_request_is_sent(gcp_ops_emulator_env: Any, policy: str, state: str) -> None:
    emu = gcp_ops_emulator_env
    op = emu.admin.create_operation(service="dialogflow", done=True)
    dr = _run(operation_name=op["name"], service="dialogflow", on_unimplemented=policy)
    assert ti_state(dr, "delete") == state
    assert emu.admin.stats()["requests_total"] == 0
    if policy == "warn":
        assert xcom(dr, "delete")["outcome"] == "unimplemented"


def test_a_503_on_delete_is_retried(gcp_ops_emulator_env: Any) -> None:
    emu = gcp_ops_emulator_env
    op = emu.admin.create_operation(service="alloydb", done=True)
    emu.admin.set_faults([{"route": "delete", "kind": "503", "count": 1}])
    dr = _run(operation_name=op["name"], service="alloydb")
    assert ti_state(dr, "delete") == "success"
    assert counts(emu, op["name"]) == {"get": 1, "delete": 2}
    assert _history(emu, op["name"])["deleted"] is True


def test_policy_is_validated_when_the_dag_is_built() -> None:
    with pytest.raises(ValueError, match="on_unimplemented"):
        DeleteOperationOperator(task_id="x", operation_name="projects/p/regions/r/operations/o", on_unimplemented="x")

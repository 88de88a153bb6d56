"""OperationSensor through ``dag.test()`` against the emulator in poke, reschedule and deferrable modes.

Cancel-on-kill rows proven here, each by counting cancels at the emulator: the sensor's ``timeout`` in every
mode (deferred: the deadline passed to the trigger and its ``timeout`` event), and ``execution_timeout`` on a
worker (``on_kill``) and while deferred.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from airflow.sdk import DAG
from operators.dagtest import cancels, run_dag, ti_state, total_cancels, xcom

from airflow_provider_gcp_ops._compat import AirflowFailException
from airflow_provider_gcp_ops.sensors.operation import OperationSensor

pytestmark = pytest.mark.usefixtures("airflow_db")

MODES = [
    pytest.param({"mode": "poke", "deferrable": False}, id="poke"),
    pytest.param({"mode": "reschedule", "deferrable": False}, id="reschedule"),
    pytest.param({"deferrable": True}, id="deferrable"),
]
_runs = iter(range(10_000))


def _run(**kwargs: Any) -> Any:
    kwargs.setdefault("poke_interval", 0.2)
    with DAG(f"sensor_{next(_runs)}", schedule=None) as dag:
        OperationSensor(task_id="sense", **kwargs)
    return run_dag(dag)


@pytest.mark.parametrize("mode", MODES)
def test_waits_until_the_operation_succeeds(
    gcp_ops_emulator_env: Any, trigger_events: list[dict[str, Any]], mode: dict[str, Any]
) -> None:
    emu = gcp_ops_emulator_env
    op = emu.admin.create_operation(service="dataproc", duration_s=1.5)
    dr = _run(operation_name=op["name"], **mode)
    assert ti_state(dr, "sense") == "success"
    result = xcom(dr, "sense")
    assert (result["name"], result["state"], result["target"], result["matched"]) == (
        op["name"],
        "succeeded",
        "succeeded",
        True,
    )
    assert json.loads(json.dumps(result)) == result
    assert len(trigger_events) == (1 if mode.get("deferrable") else 0)
    assert total_cancels(emu) == 0


def test_deferrable_checks_once_before_deferring(
    gcp_ops_emulator_env: Any, trigger_events: list[dict[str, Any]]
) -> None:
    op = gcp_ops_emulator_env.admin.create_operation(service="spanner", done=True)
    dr = _run(operation_name=op["name"], deferrable=True)
    assert ti_state(dr, "sense") == "success"
    assert trigger_events == []


@pytest.mark.parametrize("mode", MODES)
def test_a_failed_operation_fails_the_sensor_with_its_error(gcp_ops_emulator_env: Any, mode: dict[str, Any]) -> None:
    emu = gcp_ops_emulator_env
    op = emu.admin.create_operation(
        service="dataproc", duration_s=0.5, outcome={"error": {"code": 8, "message": "out of CPUs"}}
    )
    dr = _run(operation_name=op["name"], **mode)
    assert ti_state(dr, "sense") == "failed"
    assert total_cancels(emu) == 0


@pytest.mark.parametrize(
    ("target", "outcome", "state"),
    [
        ("cancelled", {"error": {"code": 1, "message": "cancelled"}}, "success"),
        ("succeeded", {"error": {"code": 1, "message": "cancelled"}}, "failed"),
        ("done", {"error": {"code": 13, "message": "internal"}}, "success"),
        ("cancelled", {"response": {}}, "failed"),
    ],
)
def test_targets(gcp_ops_emulator_env: Any, target: str, outcome: dict[str, Any], state: str) -> None:
    op = gcp_ops_emulator_env.admin.create_operation(service="alloydb", duration_s=0.3, outcome=outcome)
    dr = _run(operation_name=op["name"], service="alloydb", target=target)
    assert ti_state(dr, "sense") == state


def test_fail_on_mismatch_false_succeeds_and_says_so(gcp_ops_emulator_env: Any) -> None:
    op = gcp_ops_emulator_env.admin.create_operation(
        service="dataproc", done=True, outcome={"error": {"code": 9, "message": "nope"}}
    )
    dr = _run(operation_name=op["name"], fail_on_mismatch=False)
    result = xcom(dr, "sense")
    assert (result["matched"], result["state"], result["error_code"], result["error_message"]) == (
        False,
        "failed",
        9,
        "nope",
    )


@pytest.mark.parametrize("mode", MODES)
def test_soft_fail_skips_on_mismatch(gcp_ops_emulator_env: Any, mode: dict[str, Any]) -> None:
    op = gcp_ops_emulator_env.admin.create_operation(service="dataproc", duration_s=0.3, outcome={"error": {"code": 9}})
    dr = _run(operation_name=op["name"], soft_fail=True, **mode)
    assert ti_state(dr, "sense") == "skipped"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("soft_fail", "cancel_on_kill", "state", "expected_cancels"),
    [(False, True, "failed", 1), (True, True, "skipped", 1), (False, False, "failed", 0)],
)
def test_timeout_cancels_an_owned_operation_once(
    gcp_ops_emulator_env: Any,
    trigger_events: list[dict[str, Any]],
    mode: dict[str, Any],
    soft_fail: bool,
    cancel_on_kill: bool,
    state: str,
    expected_cancels: int,
) -> None:
    emu = gcp_ops_emulator_env
    op = emu.admin.create_operation(service="dataproc", duration_s=120, cancel_delay_s=0.2)
    dr = _run(
        operation_name=op["name"],
        timeout=1.0,
        soft_fail=soft_fail,
        cancel_on_kill=cancel_on_kill,
        **mode,
    )
    assert ti_state(dr, "sense") == state
    assert cancels(emu, op["name"]) == expected_cancels
    if mode.get("deferrable"):
        assert [e["status"] for e in trigger_events] == ["timeout"]


@pytest.mark.parametrize("deferrable", [pytest.param(False, id="worker"), pytest.param(True, id="deferred")])
def test_execution_timeout_cancels_once(gcp_ops_emulator_env: Any, deferrable: bool) -> None:
    emu = gcp_ops_emulator_env
    op = emu.admin.create_operation(service="dataproc", duration_s=120, cancel_delay_s=0.2)
    dr = _run(
        operation_name=op["name"],
        deferrable=deferrable,
        timeout=600,
        execution_timeout=timedelta(seconds=2),
    )
    assert ti_state(dr, "sense") == "failed"
    assert cancels(emu, op["name"]) == 1


def test_an_invalid_name_fails_before_any_request(gcp_ops_emulator_env: Any) -> None:
    dr = _run(operation_name="https://dataproc.googleapis.com/v1/projects/p/regions/r/operations/o?key=x#frag")
    assert ti_state(dr, "sense") == "failed"
    assert gcp_ops_emulator_env.admin.stats()["requests_total"] == 0


def test_parameters_are_validated_when_the_dag_is_built() -> None:
    with pytest.raises(ValueError, match="target"):
        OperationSensor(task_id="t", operation_name="x", target="finished")


def test_a_malformed_event_fails_with_a_clear_message() -> None:
    sensor = OperationSensor(task_id="t", operation_name="projects/p/regions/r/operations/o")
    with pytest.raises(AirflowFailException, match="invalid trigger event"):
        sensor.execute_complete({}, event={"v": 1, "status": "done", "name": "projects/p/regions/r/operations/o"})
    done_but_running = {
        "v": 1,
        "status": "done",
        "name": "projects/p/regions/r/operations/o",
        "service": "dataproc",
        "api_version": "v1",
        "message": "",
        "operation": {"state": "running"},
        "error_type": None,
    }
    with pytest.raises(AirflowFailException, match="finished operation"):
        sensor.execute_complete({}, event=done_but_running)


def test_a_poke_rides_out_an_outage_longer_than_one_calls_retries(
    gcp_ops_emulator_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A poke whose GET fails for good with a transient error is "not yet", not a verdict: the sensor pokes on."""
    emu = gcp_ops_emulator_env
    conn = {"conn_type": "google_cloud_platform", "extra": {"num_retries": 0}}  # one attempt per poke
    monkeypatch.setenv("AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT", json.dumps(conn))
    op = emu.admin.create_operation(service="dataproc", duration_s=1.0)
    emu.admin.set_faults([{"route": "get", "kind": "503", "probability": 1.0, "count": 3}])
    dr = _run(operation_name=op["name"], mode="poke", deferrable=False, timeout=60)
    assert ti_state(dr, "sense") == "success"
    assert emu.admin.faults()["rules"][0]["injected"] == 3
    assert total_cancels(emu) == 0


@pytest.mark.parametrize("cancel_on_kill", [True, False])
def test_a_poke_that_fails_for_good_tries_the_cancel_first(gcp_ops_emulator_env: Any, cancel_on_kill: bool) -> None:
    """A non-transient error ends the wait: an owned operation gets its one cancel attempt before the task fails
    (here the service refuses that too: the project denies this identity everything)."""
    emu = gcp_ops_emulator_env
    op = emu.admin.create_operation(service="dataproc", project="locked", duration_s=600)
    emu.admin.configure(denied_projects=["locked"])
    dr = _run(operation_name=op["name"], mode="poke", deferrable=False, timeout=60, cancel_on_kill=cancel_on_kill)
    assert ti_state(dr, "sense") == "failed"
    assert cancels(emu, op["name"]) == (1 if cancel_on_kill else 0)

"""StartOperationOperator through ``dag.test()`` against the emulator: start, wait, and every cancel-on-kill path.

Cancel-on-kill rows proven here (each asserts at the emulator that exactly one cancel arrived for the operation
the task started, and none with ``cancel_on_kill=False``):

- ``execution_timeout`` while executing on a worker: Airflow's alarm, then the operator's ``on_kill``.
- SIGTERM while executing (what marking a running task failed does): the task runner's handler, ``on_kill``.
- ``execution_timeout`` while deferred: the deadline passed to the trigger, its ``timeout`` event,
  ``execute_complete`` cancels and fails.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider_gcp_ops._compat import AirflowException, AirflowFailException
from airflow_provider_gcp_ops.emulator.methods import recorded_calls
from airflow_provider_gcp_ops.operators.start import StartOperationOperator

from .dagtest import cancels, run_dag, ti_state, total_cancels, xcom

pytestmark = pytest.mark.usefixtures("airflow_db")

CLUSTERS = "v1/projects/p/regions/us-central1/clusters"
MODES = [pytest.param(False, id="worker"), pytest.param(True, id="deferred")]
_runs = iter(range(10_000))


def _run(body: dict[str, Any] | None = None, **op_kwargs: Any) -> Any:
    op_kwargs.setdefault("path", CLUSTERS)
    op_kwargs.setdefault("service", "dataproc")
    with DAG(f"start_{next(_runs)}", schedule=None) as dag:
        StartOperationOperator(task_id="start", poll_interval=0.1, body=body, **op_kwargs)
    return run_dag(dag)


def _emulated(duration_s: float, **extra: Any) -> dict[str, Any]:
    return {"clusterName": "c1", "emulator": {"duration_s": duration_s, "cancel_delay_s": 0.2, **extra}}


def _started(emu: Any) -> str:
    [call] = recorded_calls(emu.state)
    return str(call["operation"])


@pytest.mark.parametrize("deferrable", MODES)
def test_starts_waits_and_returns_the_summary(
    gcp_ops_emulator_env: Any, trigger_events: list[dict[str, Any]], deferrable: bool
) -> None:
    emu = gcp_ops_emulator_env
    dr = _run(_emulated(1.0, outcome={"response": {"clusterName": "c1"}}), deferrable=deferrable, include_response=True)
    assert ti_state(dr, "start") == "success"
    name = _started(emu)
    assert xcom(dr, "start", "operation_name") == name
    result = xcom(dr, "start")
    assert (result["name"], result["service"], result["state"]) == (name, "dataproc", "succeeded")
    assert result["response"]["clusterName"] == "c1"
    assert json.loads(json.dumps(result)) == result
    assert len(trigger_events) == (1 if deferrable else 0)
    assert total_cancels(emu) == 0


def test_the_body_query_and_request_id_arrive_as_given(gcp_ops_emulator_env: Any) -> None:
    emu = gcp_ops_emulator_env
    dr = _run(_emulated(0.2), query={"clusterId": "c1"}, request_id="{{ dag_run.dag_id }}-1")
    assert ti_state(dr, "start") == "success"
    [call] = recorded_calls(emu.state)
    assert call["body"] == {"clusterName": "c1"}
    assert call["query"] == {"clusterId": "c1", "requestId": f"{dr.dag_id}-1"}


@pytest.mark.parametrize("deferrable", MODES)
def test_a_failed_operation_fails_the_task(gcp_ops_emulator_env: Any, deferrable: bool) -> None:
    body = _emulated(0.3, outcome={"error": {"code": 3, "message": "bad machine type"}})
    dr = _run(body, deferrable=deferrable)
    assert ti_state(dr, "start") == "failed"
    assert xcom(dr, "start", "operation_name") == _started(gcp_ops_emulator_env)


@pytest.mark.parametrize("deferrable", MODES)
@pytest.mark.parametrize("cancel_on_kill", [True, False])
def test_execution_timeout_cancels_the_operation_once(
    gcp_ops_emulator_env: Any, trigger_events: list[dict[str, Any]], deferrable: bool, cancel_on_kill: bool
) -> None:
    emu = gcp_ops_emulator_env
    started = time.monotonic()
    dr = _run(
        _emulated(120),
        deferrable=deferrable,
        cancel_on_kill=cancel_on_kill,
        execution_timeout=timedelta(seconds=2),
    )
    assert ti_state(dr, "start") == "failed"
    assert time.monotonic() - started < 30
    name = _started(emu)
    assert cancels(emu, name) == (1 if cancel_on_kill else 0)
    assert total_cancels(emu) == cancels(emu, name)
    if deferrable:  # the trigger, not the framework, ended the wait: at our deadline
        assert [e["status"] for e in trigger_events] == ["timeout"]


@pytest.mark.parametrize("deferrable", MODES)
def test_our_own_timeout_cancels_once_and_fails(gcp_ops_emulator_env: Any, deferrable: bool) -> None:
    emu = gcp_ops_emulator_env
    dr = _run(_emulated(120), deferrable=deferrable, timeout=1.0)
    assert ti_state(dr, "start") == "failed"
    assert cancels(emu, _started(emu)) == 1


def test_sigterm_while_waiting_on_a_worker_cancels_once(gcp_ops_emulator_env: Any) -> None:
    """What marking a running task failed does: the supervisor SIGTERMs it; the task runner calls on_kill."""
    emu = gcp_ops_emulator_env
    previous = signal.getsignal(signal.SIGTERM)

    def kill_when_started() -> None:
        deadline = time.monotonic() + 20
        while not recorded_calls(emu.state) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGTERM)

    killer = threading.Thread(target=kill_when_started, daemon=True)
    killer.start()
    try:
        dr = _run(_emulated(120))
    finally:
        killer.join(5)
        signal.signal(signal.SIGTERM, previous)
    name = _started(emu)
    assert cancels(emu, name) == 1
    # The operation then ends cancelled, which fails the task (it did not succeed).
    assert ti_state(dr, "start") == "failed"


def test_without_waiting_returns_the_running_operation(gcp_ops_emulator_env: Any) -> None:
    dr = _run(_emulated(120), wait_for_completion=False)
    assert ti_state(dr, "start") == "success"
    assert xcom(dr, "start")["state"] == "running"
    assert total_cancels(gcp_ops_emulator_env) == 0


def test_a_503_on_the_create_is_not_retried(gcp_ops_emulator_env: Any) -> None:
    emu = gcp_ops_emulator_env
    emu.admin.set_faults([{"route": "*", "kind": "503", "match": "/clusters", "count": 1}])
    dr = _run(_emulated(1))
    assert ti_state(dr, "start") == "failed"
    stats = emu.admin.stats()
    assert (stats["requests"]["start"], stats["operations_created"]) == (1, 0)


def test_an_invalid_path_fails_before_any_request(gcp_ops_emulator_env: Any) -> None:
    dr = _run(_emulated(1), path="v1/projects/p/regions/us-central1/../clusters")
    assert ti_state(dr, "start") == "failed"
    assert gcp_ops_emulator_env.admin.stats()["requests_total"] == 0


# -- on_kill on an instance whose execute() is running in a thread -------------------------------------------


class _TI:
    def __init__(self) -> None:
        self.start_date = datetime.now(timezone.utc)
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


@pytest.mark.parametrize("cancel_on_kill", [True, False])
def test_on_kill_during_execute_cancels_only_an_owned_operation(
    gcp_ops_emulator_env: Any, cancel_on_kill: bool
) -> None:
    emu = gcp_ops_emulator_env
    task = StartOperationOperator(
        task_id="t",
        path=CLUSTERS,
        service="dataproc",
        body=_emulated(3),
        poll_interval=0.1,
        cancel_on_kill=cancel_on_kill,
        deferrable=False,
    )
    ti = _TI()
    outcome: list[BaseException | dict[str, Any]] = []

    def execute() -> None:
        try:
            outcome.append(task.execute({"ti": ti}))  # type: ignore[arg-type]
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=execute)
    worker.start()
    deadline = time.monotonic() + 10
    while "operation_name" not in ti.pushed and time.monotonic() < deadline:
        time.sleep(0.02)
    task.on_kill()
    task.on_kill()  # a second kill signal never sends a second cancel
    worker.join(20)
    name = ti.pushed["operation_name"]
    assert cancels(emu, name) == (1 if cancel_on_kill else 0)
    if cancel_on_kill:
        assert isinstance(outcome[0], AirflowException)
        assert "cancelled" in str(outcome[0])
    else:
        assert isinstance(outcome[0], dict)
        assert outcome[0]["state"] == "succeeded"


def test_on_kill_before_the_operation_exists_sends_nothing(gcp_ops_emulator_env: Any) -> None:
    task = StartOperationOperator(task_id="t", path=CLUSTERS, service="dataproc")
    task.on_kill()
    assert gcp_ops_emulator_env.admin.stats()["requests_total"] == 0


def test_events_are_validated_on_resume() -> None:
    task = StartOperationOperator(task_id="t", path=CLUSTERS, service="dataproc")
    with pytest.raises(AirflowFailException, match="invalid trigger event"):
        task.execute_complete({}, event={"v": 2})
    bad_name = {
        "v": 1,
        "status": "done",
        "name": "https://evil.example.com/v1/projects/p/regions/r/operations/o",
        "service": "dataproc",
        "api_version": "v1",
        "message": "",
        "operation": {"state": "succeeded"},
        "error_type": None,
    }
    with pytest.raises(AirflowFailException, match="not an endpoint"):
        task.execute_complete({}, event=bad_name)


# -- outages during a wait in a worker: the wait plan's rule (as in the trigger) --------------------------------


def _few_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two attempts per call (the connection's ``num_retries``), so an outage outlasts one call's budget quickly."""
    conn = {"conn_type": "google_cloud_platform", "extra": {"num_retries": 1}}
    monkeypatch.setenv("AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT", json.dumps(conn))


def test_a_worker_wait_rides_out_an_outage_longer_than_the_retry_budget(
    gcp_ops_emulator_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = gcp_ops_emulator_env
    _few_retries(monkeypatch)
    emu.admin.set_faults([{"route": "get", "kind": "503", "probability": 1.0, "count": 7}])
    dr = _run(_emulated(1.0), deferrable=False, timeout=60)
    assert ti_state(dr, "start") == "success"
    assert emu.admin.faults()["rules"][0]["injected"] == 7  # more than one call's two attempts, three times over
    assert total_cancels(emu) == 0


@pytest.mark.parametrize("cancel_on_kill", [True, False])
def test_a_worker_wait_whose_outage_outlasts_the_deadline_cancels_then_fails(
    gcp_ops_emulator_env: Any, monkeypatch: pytest.MonkeyPatch, cancel_on_kill: bool
) -> None:
    emu = gcp_ops_emulator_env
    _few_retries(monkeypatch)
    emu.admin.set_faults([{"route": "get", "kind": "503", "probability": 1.0}])
    started = time.monotonic()
    dr = _run(_emulated(120), deferrable=False, timeout=3, cancel_on_kill=cancel_on_kill)
    assert ti_state(dr, "start") == "failed"
    assert time.monotonic() - started < 30
    name = _started(emu)
    assert cancels(emu, name) == (1 if cancel_on_kill else 0)
    assert emu.admin.stats()["operations"][name]["get"] > 2  # polled on through the outage until the deadline


@pytest.mark.parametrize("cancel_on_kill", [True, False])
def test_an_error_event_cancels_an_owned_operation_before_failing(
    gcp_ops_emulator_env: Any, cancel_on_kill: bool
) -> None:
    """What a trigger that failed (a lasting auth error, an unexpected exception) hands the task."""
    emu = gcp_ops_emulator_env
    op = emu.admin.create_operation(service="dataproc", duration_s=600)
    task = StartOperationOperator(task_id="t", path=CLUSTERS, service="dataproc", cancel_on_kill=cancel_on_kill)
    event = {
        "v": 1,
        "status": "error",
        "name": op["name"],
        "service": "dataproc",
        "api_version": "v1",
        "message": "could not refresh Google credentials: RefreshError",
        "operation": None,
        "error_type": "Unauthenticated",
    }
    with pytest.raises(AirflowException, match="Unauthenticated"):
        task.execute_complete({}, event=event)
    assert cancels(emu, op["name"]) == (1 if cancel_on_kill else 0)


def test_one_hook_and_one_client_per_task_run(gcp_ops_emulator_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Start, wait and the deadline's quick cancel (three call sites, three sets of bounds) share the task's one
    hook, one client and one HTTP session; the "Target resource" link reads what the task recorded, no hook."""
    from airflow_provider_gcp_ops.hooks.operations import GoogleOperationsHook
    from airflow_provider_gcp_ops.operations.sync_client import OperationsClient

    built: dict[str, int] = {"hook": 0, "client": 0, "session": 0}

    def counting(cls: Any, method: str, key: str) -> None:
        original = getattr(cls, method)

        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            built[key] += 1
            return original(self, *args, **kwargs)

        monkeypatch.setattr(cls, method, wrapper)

    counting(GoogleOperationsHook, "__init__", "hook")
    counting(OperationsClient, "__init__", "client")
    counting(OperationsClient, "_make_session", "session")
    emu = gcp_ops_emulator_env
    dr = _run(_emulated(120), timeout=1.0)
    assert ti_state(dr, "start") == "failed"
    name = _started(emu)
    assert cancels(emu, name) == 1  # the wait reached the deadline and the task cancelled through the same client
    assert built == {"hook": 1, "client": 1, "session": 1}
    assert xcom(dr, "start", "_link_TargetResourceLink").startswith("https://console.cloud.google.com/dataproc/")

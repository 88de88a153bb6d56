"""OperationTrigger.run() against the emulator over real HTTP, and each deferred kill path.

A real triggerer is exercised in the system tests; here the trigger's own code paths run for real and only the
triggerer's supervisor is replaced: ``RuntimeTaskInstance.get_task_states`` answers as Airflow's execution API does.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer
from airflow_provider_gcp_ops.triggers.events import OperationEvent
from airflow_provider_gcp_ops.triggers.kill_rules import UNKNOWN
from airflow_provider_gcp_ops.triggers.operation import USER_ACTION_CANCEL_MSG, OperationTrigger

pytestmark = pytest.mark.usefixtures("gcp_ops_emulator_env")


def make_trigger(name: str, service: str = "dataproc", **kw: Any) -> OperationTrigger:
    kw.setdefault("poll_interval", 0.05)
    kw.setdefault("poll_max", 0.2)
    return OperationTrigger(operation_name=name, service=service, api_version="v1", **kw)


async def first_event(trigger: OperationTrigger) -> OperationEvent:
    events = [e async for e in trigger.run()]
    assert len(events) == 1, "a trigger yields exactly one event"
    return OperationEvent.from_payload(events[0].payload)


def cancels(emu: EmulatorServer, name: str) -> int:
    return int(emu.admin.stats()["operations"].get(name, {}).get("cancel", 0))


def test_serialize_round_trip_holds_only_json() -> None:
    trigger = make_trigger(
        "projects/p/regions/r/operations/o", impersonation_chain=["a@p.iam.gserviceaccount.com"], deadline=1e9
    )
    classpath, kwargs = trigger.serialize()
    assert json.loads(json.dumps(kwargs)) == kwargs
    module, _, cls = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), cls)(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    assert not any("token" in k or "key" in k for k in kwargs)


@pytest.mark.parametrize(
    ("outcome", "state"),
    [({"response": {}}, "succeeded"), ({"error": {"code": 9, "message": "quota"}}, "failed")],
)
async def test_done_event_carries_the_outcome(gcp_ops_emulator: EmulatorServer, outcome: dict, state: str) -> None:
    op = gcp_ops_emulator.admin.create_operation(service="dataproc", duration_s=0.3, outcome=outcome)
    event = await first_event(make_trigger(op["name"]))
    assert event.status == "done" and event.state == state
    if state == "failed":
        assert event.operation is not None and event.operation["error_code"] == 9


async def test_cancelled_operation(gcp_ops_emulator: EmulatorServer) -> None:
    op = gcp_ops_emulator.admin.create_operation(service="datafusion", duration_s=600, cancel_delay_s=0.2)
    import httpx

    httpx.post(
        f"{gcp_ops_emulator.url}/v1/{op['name']}:cancel", json={}, headers={"Authorization": "Bearer t"}, timeout=5
    )
    event = await first_event(make_trigger(op["name"], service="datafusion"))
    assert event.status == "done" and event.state == "cancelled"


async def test_deadline_yields_timeout_with_the_last_state(gcp_ops_emulator: EmulatorServer) -> None:
    op = gcp_ops_emulator.admin.create_operation(service="dataproc", duration_s=600)
    started = time.monotonic()
    event = await first_event(make_trigger(op["name"], deadline=time.time() + 0.6))
    elapsed = time.monotonic() - started
    assert event.status == "timeout" and event.state == "running"
    assert 0.5 <= elapsed < 5.0  # at the deadline, not before; the upper bound only catches a hang
    assert cancels(gcp_ops_emulator, op["name"]) == 0  # the task cancels on resume, not the trigger


async def test_a_past_deadline_times_out_at_once(gcp_ops_emulator: EmulatorServer) -> None:
    op = gcp_ops_emulator.admin.create_operation(service="dataproc", duration_s=600)
    event = await first_event(make_trigger(op["name"], deadline=time.time() - 5))
    assert event.status == "timeout"


async def test_not_found_is_an_error_event(gcp_ops_emulator: EmulatorServer) -> None:
    event = await first_event(make_trigger("projects/p/regions/us-central1/operations/gone"))
    assert event.status == "error" and event.error_type == "NotFound"


async def test_transient_faults_are_ridden_out(gcp_ops_emulator: EmulatorServer) -> None:
    op = gcp_ops_emulator.admin.create_operation(service="dataproc", duration_s=0.5)
    gcp_ops_emulator.admin.set_faults(
        [
            {"route": "get", "kind": kind, "probability": 1.0, "count": 1, "retry_after_s": 0.1}
            for kind in ("503", "429", "reset")
        ]
    )
    event = await first_event(make_trigger(op["name"]))
    assert event.status == "done" and event.state == "succeeded"


async def test_a_lasting_outage_ends_at_the_deadline_not_before(gcp_ops_emulator: EmulatorServer) -> None:
    op = gcp_ops_emulator.admin.create_operation(service="dataproc", duration_s=600)
    gcp_ops_emulator.admin.set_faults([{"route": "get", "kind": "503", "probability": 1.0}])
    started = time.monotonic()
    event = await first_event(make_trigger(op["name"], deadline=time.time() + 1.5))
    assert event.status == "timeout"  # so the task still cancels its operation, as on any timeout
    assert time.monotonic() - started >= 1.2


# -- kill paths -----------------------------------------------------------------------------------------------


async def test_on_kill_cancels_once(gcp_ops_emulator: EmulatorServer) -> None:
    op = gcp_ops_emulator.admin.create_operation(service="dataproc", duration_s=600)
    await make_trigger(op["name"]).on_kill()
    assert cancels(gcp_ops_emulator, op["name"]) == 1


@pytest.mark.parametrize(
    ("task_state", "current_operation", "expected_cancels"),
    [
        ("failed", "same", 1),  # marked failed
        ("success", "same", 1),  # marked success
        (None, "same", 1),  # cleared (state reset) or unknown: on_kill means a user action, cancel
        ("deferred", "other", 1),  # cleared, and the new try already deferred on a new operation
        ("deferred", "same", 0),  # the trigger moved to another triggerer: the task still waits on it
        ("scheduled", "same", 1),  # cleared, re-scheduled, before the deadline
    ],
)
async def test_on_kill_cancels_only_when_the_task_left_this_operation(
    gcp_ops_emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    task_state: str | None,
    current_operation: str,
    expected_cancels: int,
) -> None:
    op = gcp_ops_emulator.admin.create_operation(service="dataproc", duration_s=600)
    trigger = make_trigger(op["name"])

    async def stub_state() -> str | None:
        return task_state

    async def stub_rerun() -> bool:
        return current_operation == "other"

    monkeypatch.setattr(trigger, "task_state", stub_state)
    monkeypatch.setattr(trigger, "_rerun_watches_another_operation", stub_rerun)
    await trigger.on_kill()
    assert cancels(gcp_ops_emulator, op["name"]) == expected_cancels


async def test_on_kill_respects_cancel_on_kill_false(gcp_ops_emulator: EmulatorServer) -> None:
    op = gcp_ops_emulator.admin.create_operation(service="dataproc", duration_s=600)
    await make_trigger(op["name"], cancel_on_kill=False).on_kill()
    assert cancels(gcp_ops_emulator, op["name"]) == 0


async def test_on_kill_survives_a_failing_cancel(
    gcp_ops_emulator: EmulatorServer, capsys: pytest.CaptureFixture[str]
) -> None:
    op = gcp_ops_emulator.admin.create_operation(service="dataproc", duration_s=600)
    gcp_ops_emulator.admin.set_faults([{"route": "cancel", "kind": "500", "probability": 1.0}])
    trigger = make_trigger(op["name"])
    await trigger.on_kill()  # does not raise
    assert "Could not cancel" in capsys.readouterr().out  # the trigger's (structlog) logger writes to stdout
    assert await trigger.cancel_remote("again") is False
    assert cancels(gcp_ops_emulator, op["name"]) == 4  # two bounded attempts per kill, never more


async def test_on_kill_on_a_service_without_cancel_does_not_hang(gcp_ops_emulator: EmulatorServer) -> None:
    op = gcp_ops_emulator.admin.create_operation(service="run", duration_s=600)
    started = time.monotonic()
    trigger = OperationTrigger(operation_name=op["name"], service="run", api_version="v2", poll_interval=0.05)
    assert await trigger.cancel_remote("test") is False
    assert time.monotonic() - started < 2


async def _cancel_running_trigger(trigger: OperationTrigger, message: str | None) -> None:
    task = asyncio.create_task(first_event(trigger))
    await asyncio.sleep(0.3)  # let it poll
    task.cancel(message)
    with pytest.raises(asyncio.CancelledError):
        await task


def airflow_task_states(
    monkeypatch: pytest.MonkeyPatch, answer: Any, calls: list[dict[str, Any]] | None = None
) -> None:
    """Patch ``RuntimeTaskInstance.get_task_states`` (a call to the triggerer's supervisor) to answer as Airflow's
    execution API does: ``{run_id: {task_id: state}}``, ``{run_id: {f"{task_id}_{map_index}": state}}`` for a
    mapped task instance (``api_fastapi/execution_api/routes/task_instances.py``); an exception is raised."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    def get_task_states(**kw: Any) -> Any:
        if calls is not None:
            calls.append(kw)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    monkeypatch.setattr(RuntimeTaskInstance, "get_task_states", staticmethod(get_task_states))


def airflow_answer(state: str | None, map_index: int) -> dict[str, dict[str, str | None]]:
    key = "t" if map_index < 0 else f"t_{map_index}"
    return {"r": {key: state}}


def with_ti(trigger: OperationTrigger, map_index: int = -1) -> OperationTrigger:
    trigger.task_instance = SimpleNamespace(dag_id="d", task_id="t", run_id="r", map_index=map_index)
    return trigger


@pytest.mark.parametrize("map_index", [-1, 0, 2])
@pytest.mark.parametrize(
    ("message", "state", "expected_cancels"),
    [
        (None, "failed", 1),  # Airflow 3.0-3.2: marked failed while deferred
        (None, "success", 1),  # ... marked success
        (None, None, 1),  # ... cleared: Airflow reports no state at all
        (None, "scheduled", 1),  # ... cleared and already scheduled again
        (None, "deferred", 0),  # triggerer restart: the task is still deferred
        (USER_ACTION_CANCEL_MSG, "failed", 0),  # Airflow >= 3.3: on_kill() handles it, not this path
    ],
)
async def test_cancelled_error_path(
    gcp_ops_emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    message: str | None,
    state: str | None,
    expected_cancels: int,
    map_index: int,
) -> None:
    op = gcp_ops_emulator.admin.create_operation(service="dataproc", duration_s=600)
    trigger = with_ti(make_trigger(op["name"]), map_index)
    calls: list[dict[str, Any]] = []
    airflow_task_states(monkeypatch, airflow_answer(state, map_index), calls)
    await _cancel_running_trigger(trigger, message)
    assert cancels(gcp_ops_emulator, op["name"]) == expected_cancels
    if message is None:
        assert calls and calls[0]["map_index"] == map_index and calls[0]["task_ids"] == ["t"]


@pytest.mark.parametrize(
    "answer",
    [
        RuntimeError("supervisor gone"),  # the lookup fails
        {},  # nothing for this run
        {"r": {"t": "failed"}},  # a mapped instance must not read the unmapped key
        {"r": {"t_1": "failed"}},  # ... nor another map index's
    ],
)
async def test_an_unknown_state_never_cancels(
    gcp_ops_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, answer: Any
) -> None:
    op = gcp_ops_emulator.admin.create_operation(service="dataproc", duration_s=600)
    trigger = with_ti(make_trigger(op["name"]), map_index=0)
    airflow_task_states(monkeypatch, answer)
    await _cancel_running_trigger(trigger, None)
    assert cancels(gcp_ops_emulator, op["name"]) == 0


async def test_cancelled_error_path_with_cancel_on_kill_false(
    gcp_ops_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    op = gcp_ops_emulator.admin.create_operation(service="dataproc", duration_s=600)
    trigger = with_ti(make_trigger(op["name"], cancel_on_kill=False))
    airflow_task_states(monkeypatch, airflow_answer("failed", -1))
    await _cancel_running_trigger(trigger, None)
    assert cancels(gcp_ops_emulator, op["name"]) == 0


@pytest.mark.parametrize(("map_index", "key"), [(-1, "t"), (0, "t_0"), (7, "t_7")])
async def test_task_state_reads_airflows_key(monkeypatch: pytest.MonkeyPatch, map_index: int, key: str) -> None:
    trigger = with_ti(make_trigger("projects/p/regions/r/operations/o"), map_index)
    airflow_task_states(monkeypatch, {"r": {key: "DEFERRED", "other": "failed"}})
    assert await trigger.task_state() == "deferred"
    airflow_task_states(monkeypatch, {"r": {key: None}})
    assert await trigger.task_state() is None  # known: no state (cleared)


async def test_task_state_without_a_task_instance_is_unknown() -> None:
    assert await make_trigger("projects/p/regions/r/operations/o").task_state() is UNKNOWN


async def test_a_failing_task_state_lookup_is_unknown_not_a_cancel() -> None:
    trigger = with_ti(make_trigger("projects/p/regions/r/operations/o"))  # no supervisor here
    assert await trigger.task_state() is UNKNOWN


async def test_an_unexpected_exception_becomes_an_error_event(
    gcp_ops_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trigger never dies without an event; the resumed task (execute_complete) sends the one cancel."""
    op = gcp_ops_emulator.admin.create_operation(service="dataproc", duration_s=600)

    def broken_poll(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("a bug")

    monkeypatch.setattr("airflow_provider_gcp_ops.operations.plans.parse_operation", broken_poll)
    event = await first_event(make_trigger(op["name"]))
    assert event.status == "error" and event.error_type == "KeyError"
    assert cancels(gcp_ops_emulator, op["name"]) == 0


@pytest.mark.parametrize(("map_index", "key"), [(-1, "wait"), (3, "wait_3")])
async def test_task_state_of_a_mapped_task_instance(monkeypatch: pytest.MonkeyPatch, map_index: int, key: str) -> None:
    """The execution API answers ``{run_id: {task_id: state}}``, and ``task_id_<map_index>`` for a mapped one."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    def get_task_states(**kw: Any) -> dict[str, Any]:
        assert kw["map_index"] == map_index
        return {"r": {key: "deferred", "wait_99": "failed"}}

    monkeypatch.setattr(RuntimeTaskInstance, "get_task_states", staticmethod(get_task_states))
    trigger = make_trigger("projects/p/regions/r/operations/o")
    trigger.task_instance = SimpleNamespace(dag_id="d", task_id="wait", run_id="r", map_index=map_index)
    assert await trigger.task_state() == "deferred"


@pytest.mark.parametrize(
    ("state", "deadline_in_s", "expected_cancels"),
    [
        ("scheduled", -1, 0),
        ("queued", -1, 0),
        ("running", -1, 0),
        ("scheduled", 60, 1),
        ("failed", -1, 1),
        (None, -1, 1),
    ],
)
async def test_on_kill_after_the_deadline_leaves_the_cancel_to_the_timeout_path(
    gcp_ops_emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    state: str | None,
    deadline_in_s: float,
    expected_cancels: int,
) -> None:
    """A copy of the trigger on another triggerer fired the timeout event (the task resumes, its execute_complete
    cancels): this copy's on_kill sends nothing. Marked failed or cleared after the deadline: it cancels."""
    op = gcp_ops_emulator.admin.create_operation(service="dataproc", duration_s=600)
    trigger = make_trigger(op["name"], deadline=time.time() + deadline_in_s)

    async def stub_state() -> str | None:
        return state

    monkeypatch.setattr(trigger, "task_state", stub_state)
    await trigger.on_kill()
    assert cancels(gcp_ops_emulator, op["name"]) == expected_cancels

"""Every kill path in a real Airflow deployment, asserted at the emulator.

All case DAGs (``dags/gcp_ops_kill_paths.py``) are triggered together once, in one deployment; the tests then
run in file order, each waiting for its own DAG's state and acting on it through the REST API. Each asserts at
the emulator that the ``cancel`` task's operation received exactly one cancel and ended CANCELLED, and that the
``keep`` twin's (``cancel_on_kill=False``) received none and still runs. The last test checks that no other
cancel reached the emulator at all.

Order matters once: the triggerer restart comes first, while the mark/clear cases' tasks are still deferred
(a user action while the triggerer is down would reach no trigger), and it also proves the restart cancelled
none of them. Timings are printed (``-s``) and collected in ``TIMINGS``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import httpx
import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer

from .harness import Api, Deployment, wait_for

pytestmark = [pytest.mark.system, pytest.mark.timeout(900)]

PREFIX = "gcp_ops_sys_"
CASES = (
    "worker_timeout",
    "deferred_timeout",
    "sensor_timeout",
    "mark_failed",
    "clear",
    "mark_success",
    "triggerer_restart",
    "cloud_run",
    "mapped",
    "mapped_sensor",
    "sensor_clear",
    "token_outage",
    "worker_outage",
)
TOKEN_KEY = "sys-token-outage"  # conftest.py's key name (its token_uri carries key=<name>)
# Fault rules armed before the DAGs run; each matches only its case's requests (see dags/gcp_ops_kill_paths.py).
FAULTS = [
    # worker_outage: more failed polls in a row than one call's two attempts (the connection's num_retries=1).
    {"route": "get", "kind": "503", "match": "projects/sysoutage1/", "count": 8},
    # worker_outage: an outage that outlasts the task's own timeout.
    {"route": "get", "kind": "503", "match": "projects/sysoutage2/"},
    # token_outage: the key's first four token requests succeed (the worker's poke, then the trigger's first
    # refreshes), the next nine fail: three refreshes, each tried three times by google-auth itself.
    {"route": "token", "kind": "latency", "latency_s": 0, "match": f"key={TOKEN_KEY}", "count": 4},
    {"route": "token", "kind": "503", "match": f"key={TOKEN_KEY}", "count": 9},
]
CANCEL_WAIT_S = 45.0  # from a user action or a deadline to the cancel at the emulator (observed: 2-10 s)
TIMINGS: dict[str, float] = {}
CANCELLED: set[str] = set()  # every operation a test proved cancelled exactly once (the last test checks the rest)
OUTCOMES: dict[str, str] = {}  # what a case did where the Airflow version decides (printed, for the README table)
_F = TypeVar("_F", bound=Callable[..., Any])


def dags(*names: str) -> Callable[[_F], _F]:
    """Which DAGs' task logs a failing test prints."""

    def mark(fn: _F) -> _F:
        fn.dag_ids = tuple(PREFIX + n for n in names)  # type: ignore[attr-defined]
        return fn

    return mark


@pytest.fixture(scope="module")
def runs(api: Api, deployment: Deployment, system_emulator: EmulatorServer) -> dict[str, str]:
    """Trigger every case DAG at once; ``{case: run_id}``."""
    started = time.monotonic()
    api.wait_for_dags({PREFIX + c for c in CASES}, timeout=180)
    TIMINGS["dags_parsed_s"] = time.monotonic() - started
    system_emulator.admin.set_faults(FAULTS)
    TIMINGS["triggered_at"] = time.monotonic()
    return {case: api.trigger(PREFIX + case) for case in CASES}


# -- helpers ----------------------------------------------------------------------------------------------------


def op_name(api: Api, runs: dict[str, str], case: str, task: str, map_index: int | None = None) -> str:
    """The operation the task started (XCom ``operation_name``, pushed before any wait)."""

    def probe() -> str | None:
        try:
            value = api.xcom(PREFIX + case, runs[case], task, "operation_name", map_index)
        except Exception:
            return None
        return str(value) if value else None

    return str(wait_for(f"{case}.{task}[{map_index}]'s operation name", probe, timeout=180, interval=1))


def cancels(emu: EmulatorServer, name: str) -> int:
    return int(emu.admin.stats()["operations"].get(name, {}).get("cancel", 0))


def polls(emu: EmulatorServer, name: str) -> int:
    return int(emu.admin.stats()["operations"].get(name, {}).get("get", 0))


def total_cancels(emu: EmulatorServer) -> int:
    return int(emu.admin.stats()["requests"].get("cancel", 0))


def operation(emu: EmulatorServer, name: str, version: str = "v1") -> dict[str, Any]:
    response = httpx.get(f"{emu.url}/{version}/{name}", headers={"Authorization": "Bearer t"}, timeout=10)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def wait_cancelled(emu: EmulatorServer, name: str, what: str) -> float:
    """Wait until the operation got its cancel and ended CANCELLED; seconds waited."""
    started = time.monotonic()
    wait_for(f"{what}: a cancel for {name}", lambda: cancels(emu, name) >= 1, timeout=CANCEL_WAIT_S)
    took = time.monotonic() - started
    wait_for(f"{what}: {name} CANCELLED", lambda: server_state(emu, name) == "CANCELLED", timeout=10)
    return took


def assert_cancelled_once(emu: EmulatorServer, name: str) -> None:
    assert cancels(emu, name) == 1, f"{name}: {emu.admin.stats()['operations'].get(name)}"
    assert emu.admin.history(name)["state"] == "CANCELLED"
    CANCELLED.add(name)


RUNNING = {"PENDING", "RUNNING"}


def server_state(emu: EmulatorServer, name: str) -> str | None:
    """The operation's state as the emulator's history has it (no GET: fault rules may answer GETs 503)."""
    state = emu.admin.history(name)["state"]
    return None if state is None else str(state)


def fault_rule(emu: EmulatorServer, kind: str, match: str) -> dict[str, Any]:
    rules = emu.admin.faults()["rules"]
    return next(r for r in rules if r["kind"] == kind and r["match"] == match)


def wait_sensor_trigger_polled(emu: EmulatorServer, name: str, what: str) -> None:
    """Wait until a deferred sensor's trigger has polled ``name`` (act on the task only then). A deferrable sensor
    pokes once on its worker before deferring; every later GET of its operation is the trigger's."""
    wait_for(f"{what}: {name} polled by the trigger", lambda: polls(emu, name) > 1, timeout=90)


def assert_untouched(emu: EmulatorServer, name: str, version: str = "v1") -> None:
    assert cancels(emu, name) == 0, f"{name}: {emu.admin.stats()['operations'].get(name)}"
    assert not operation(emu, name, version).get("done"), f"{name} should still run"


def record(key: str, value: float) -> None:
    TIMINGS[key] = round(value, 1)
    print(f"[timing] {key}: {value:.1f} s")


def ran_s(ti: dict[str, Any]) -> float:
    """A finished task instance's ``end_date - start_date`` (``duration`` is not that on every version)."""
    start, end = (datetime.fromisoformat(str(ti[k]).replace("Z", "+00:00")) for k in ("start_date", "end_date"))
    return (end - start).total_seconds()


def since_triggered() -> float:
    return time.monotonic() - TIMINGS["triggered_at"]


# -- 7 (first, see the module docstring). The triggerer restarts while triggers wait: no cancel. ----------------


@dags("triggerer_restart", "mark_failed", "clear", "mark_success")
def test_triggerer_restart_sends_no_cancel(
    api: Api, deployment: Deployment, runs: dict[str, str], system_emulator: EmulatorServer
) -> None:
    emu = system_emulator
    waiting = [("triggerer_restart", "wait")] + [
        (case, task) for case in ("mark_failed", "clear", "mark_success") for task in ("cancel", "keep")
    ]
    for case, task in waiting:
        api.wait_state(PREFIX + case, runs[case], task, {"deferred"}, timeout=180)
    names = {(case, task): op_name(api, runs, case, task) for case, task in waiting}
    record("all_deferred_after_trigger_s", since_triggered())
    for name in names.values():  # each trigger really runs (has polled) before the restart
        wait_for(f"{name} polled by the triggerer", lambda name=name: polls(emu, name) > 0, timeout=90)
    restart = deployment.restart("triggerer")
    record("triggerer_stop_s", restart["stop_s"])
    record("triggerer_new_heartbeat_s", restart["healthy_s"])
    # The new triggerer picks the triggers up again: each operation is polled again, none is cancelled.
    for (case, task), name in names.items():
        before = polls(emu, name)
        wait_for(
            f"{name} polled by the new triggerer",
            lambda name=name, before=before: polls(emu, name) > before,
            timeout=90,
        )
        assert api.state(PREFIX + case, runs[case], task) == "deferred"
        assert_untouched(emu, name)


# -- 1. execution_timeout while waiting on a worker -------------------------------------------------------------


@dags("worker_timeout")
def test_worker_execution_timeout_cancels_once(api: Api, runs: dict[str, str], system_emulator: EmulatorServer) -> None:
    emu, case = system_emulator, "worker_timeout"
    names = {task: op_name(api, runs, case, task) for task in ("cancel", "keep")}
    for task in ("cancel", "keep"):
        ti = api.wait_state(PREFIX + case, runs[case], task, {"failed", "success", "up_for_retry"}, timeout=180)
        assert ti["state"] == "failed"
    wait_cancelled(emu, names["cancel"], "worker execution_timeout")
    record("case1_cancel_after_op_start_s", float(emu.admin.history(names["cancel"])["cancel_requested_t"]))
    time.sleep(3)  # a second cancel would arrive within this
    assert_cancelled_once(emu, names["cancel"])
    assert_untouched(emu, names["keep"])


# -- 2. execution_timeout while deferred: our deadline ----------------------------------------------------------


@dags("deferred_timeout")
def test_deferred_execution_timeout_cancels_once(
    api: Api, runs: dict[str, str], system_emulator: EmulatorServer
) -> None:
    emu, case = system_emulator, "deferred_timeout"
    names = {task: op_name(api, runs, case, task) for task in ("cancel", "keep")}
    for task in ("cancel", "keep"):
        ti = api.wait_state(PREFIX + case, runs[case], task, {"failed", "success", "up_for_retry"}, timeout=180)
        assert ti["state"] == "failed"
    wait_cancelled(emu, names["cancel"], "deferred execution_timeout")
    history = emu.admin.history(names["cancel"])
    record("case2_cancel_after_op_start_s", float(history["cancel_requested_t"]))
    time.sleep(3)
    assert_cancelled_once(emu, names["cancel"])
    assert_untouched(emu, names["keep"])


# -- 3. OperationSensor: its timeout expires while deferred -----------------------------------------------------


@dags("sensor_timeout")
def test_deferred_sensor_timeout_cancels_once(api: Api, runs: dict[str, str], system_emulator: EmulatorServer) -> None:
    emu, case = system_emulator, "sensor_timeout"
    names = {task: op_name(api, runs, case, f"start_{task}") for task in ("cancel", "keep")}
    for task in ("cancel", "keep"):
        ti = api.wait_state(PREFIX + case, runs[case], f"sensor_{task}", {"failed", "success", "skipped"}, timeout=180)
        assert ti["state"] == "failed"
    wait_cancelled(emu, names["cancel"], "deferred sensor timeout")
    record("case3_sensor_ran_s", ran_s(api.task_instance(PREFIX + case, runs[case], "sensor_cancel")))
    time.sleep(3)
    assert_cancelled_once(emu, names["cancel"])
    assert_untouched(emu, names["keep"])


# -- 4-6. User actions on a deferred task -----------------------------------------------------------------------


def _user_action(api: Api, runs: dict[str, str], emu: EmulatorServer, case: str, act: Callable[[str], None]) -> None:
    names = {task: op_name(api, runs, case, task) for task in ("cancel", "keep")}
    for task in ("cancel", "keep"):
        api.wait_state(PREFIX + case, runs[case], task, {"deferred"}, timeout=180)
        # Act only once the trigger runs: a user action before the triggerer picked it up reaches no trigger.
        wait_for(f"{case}.{task} polled", lambda name=names[task]: polls(emu, name) > 0, timeout=90)
    before = total_cancels(emu)
    started = time.monotonic()
    for task in ("cancel", "keep"):
        act(task)
    took = wait_cancelled(emu, names["cancel"], case)
    record(f"{case}_action_to_cancel_s", time.monotonic() - started)
    time.sleep(5)  # the keep twin's trigger was stopped at the same moment: give a wrong cancel time to arrive
    assert_cancelled_once(emu, names["cancel"])
    assert_untouched(emu, names["keep"])
    assert total_cancels(emu) == before + 1
    assert took < CANCEL_WAIT_S


@dags("mark_failed")
def test_deferred_marked_failed_cancels_once(api: Api, runs: dict[str, str], system_emulator: EmulatorServer) -> None:
    case = "mark_failed"
    _user_action(api, runs, system_emulator, case, lambda task: api.mark(PREFIX + case, runs[case], task, "failed"))
    for task in ("cancel", "keep"):
        assert api.state(PREFIX + case, runs[case], task) == "failed"


@dags("mark_success")
def test_deferred_marked_success_cancels_once(api: Api, runs: dict[str, str], system_emulator: EmulatorServer) -> None:
    """Decision: marking a deferred task success cancels its operation (``cancel_on_kill=True``).

    As on a worker (marking a running task success SIGTERMs it, ``on_kill`` cancels), and as Airflow 3.3's
    triggerer does (``on_kill`` for mark-success too). The task stays ``success``; to leave the operation
    running, use ``cancel_on_kill=False`` (the ``keep`` twin).
    """
    case = "mark_success"
    _user_action(api, runs, system_emulator, case, lambda task: api.mark(PREFIX + case, runs[case], task, "success"))
    for task in ("cancel", "keep"):
        assert api.state(PREFIX + case, runs[case], task) == "success"


@dags("clear")
def test_deferred_cleared_cancels_once_and_the_rerun_starts_a_new_operation(
    api: Api, runs: dict[str, str], system_emulator: EmulatorServer
) -> None:
    """Clear = cancel the running operation (``cancel_on_kill=True``), then try 2 starts a new one and waits for it.

    The ``keep`` twin leaves its first operation running, so after its clear two operations run: what
    ``cancel_on_kill=False`` means. (The DAG makes try 2's operation short, so both re-runs succeed.)
    """
    emu, case = system_emulator, "clear"
    first = {task: op_name(api, runs, case, task) for task in ("cancel", "keep")}
    _user_action(api, runs, emu, case, lambda task: api.clear(PREFIX + case, runs[case], task))
    started = time.monotonic()
    for task in ("cancel", "keep"):
        ti = api.wait_state(PREFIX + case, runs[case], task, {"success", "failed"}, try_number=2, timeout=180)
        assert ti["state"] == "success"
        second = api.xcom(PREFIX + case, runs[case], task, "operation_name")
        assert second != first[task]
        assert cancels(emu, second) == 0
        assert operation(emu, second).get("done") and "error" not in operation(emu, second)
    record("clear_rerun_to_success_s", time.monotonic() - started)
    assert cancels(emu, first["cancel"]) == 1
    assert_untouched(emu, first["keep"])


# -- 7 (end). After the restart the task completes normally when its operation finishes -------------------------


@dags("triggerer_restart")
def test_after_the_restart_the_task_completes(api: Api, runs: dict[str, str], system_emulator: EmulatorServer) -> None:
    case = "triggerer_restart"
    name = op_name(api, runs, case, "wait")
    ti = api.wait_state(PREFIX + case, runs[case], "wait", {"success", "failed"}, timeout=240)
    assert ti["state"] == "success"
    assert cancels(system_emulator, name) == 0
    op = operation(system_emulator, name)
    assert op.get("done") and "error" not in op
    assert api.xcom(PREFIX + case, runs[case], "wait", "return_value")["state"] == "succeeded"


# -- 9. A service without cancel (Cloud Run v2) -----------------------------------------------------------------


@dags("cloud_run")
def test_cloud_run_cancel_unsupported_ends_without_hanging(
    api: Api, runs: dict[str, str], system_emulator: EmulatorServer
) -> None:
    """Documented outcome: the task fails as the kill path says (timeout / marked failed); the cancel cannot be
    sent (Cloud Run has no cancel verb: the client refuses before any request, a warning is logged), so the
    operation keeps running; nothing waits or retries."""
    emu, case = system_emulator, "cloud_run"
    names = {task: op_name(api, runs, case, task) for task in ("worker_timeout", "deferred_timeout", "mark_failed")}
    api.wait_state(PREFIX + case, runs[case], "mark_failed", {"deferred"}, timeout=180)
    api.mark(PREFIX + case, runs[case], "mark_failed", "failed")
    for task in names:
        ti = api.wait_state(PREFIX + case, runs[case], task, {"failed", "success", "up_for_retry"}, timeout=180)
        assert ti["state"] == "failed"
        if task != "mark_failed":
            record(f"case9_{task}_ran_s", ran_s(ti))
            # The timeout, then no hanging cancel (+ slack: the triggerer restart may delay the deferred deadline).
            assert ran_s(ti) < 15 + 45
    time.sleep(5)
    for name in names.values():
        assert_untouched(emu, name, "v2")


# -- 10. Dynamic task mapping: mark one index failed, clear another, let the third finish ----------------------


@dags("mapped")
def test_mapped_start_operator_cancels_per_map_index(
    api: Api, runs: dict[str, str], system_emulator: EmulatorServer
) -> None:
    emu, case, task = system_emulator, "mapped", "start"
    dag, run = PREFIX + case, runs[case]
    first = {i: op_name(api, runs, case, task, i) for i in range(3)}
    for i in (0, 1):  # index 2 finishes on its own (60 s) whenever this test gets here
        api.wait_state(dag, run, task, {"deferred"}, timeout=180, map_index=i)
        wait_for(f"{case}[{i}] polled", lambda name=first[i]: polls(emu, name) > 0, timeout=90)
    started = time.monotonic()
    api.mark(dag, run, task, "failed", map_index=0)
    api.clear(dag, run, task, map_index=1)
    for i in (0, 1):
        wait_cancelled(emu, first[i], f"{case}[{i}]")
    record("mapped_actions_to_cancels_s", time.monotonic() - started)
    rerun = api.wait_state(dag, run, task, {"success", "failed"}, try_number=2, timeout=180, map_index=1)
    assert rerun["state"] == "success"
    second = api.xcom(dag, run, task, "operation_name", 1)
    assert second != first[1] and cancels(emu, second) == 0
    finished = api.wait_state(dag, run, task, {"success", "failed"}, timeout=180, map_index=2)
    assert finished["state"] == "success"
    assert api.state(dag, run, task, 0) == "failed"
    time.sleep(3)
    for i in (0, 1):
        assert_cancelled_once(emu, first[i])
    assert cancels(emu, first[2]) == 0 and server_state(emu, first[2]) == "SUCCEEDED"


# -- 11. A mapped deferrable sensor: one index marked failed while deferred, the other succeeds ----------------


@dags("mapped_sensor")
def test_mapped_sensor_cancels_only_the_killed_index(
    api: Api, runs: dict[str, str], system_emulator: EmulatorServer
) -> None:
    emu, case = system_emulator, "mapped_sensor"
    dag, run = PREFIX + case, runs[case]
    long_op, short_op = op_name(api, runs, case, "start"), op_name(api, runs, case, "start_short")
    api.wait_state(dag, run, "sensor", {"deferred"}, timeout=180, map_index=0)
    wait_sensor_trigger_polled(emu, long_op, f"{case}[0]")  # index 1 ends on its own (45 s), whenever this runs
    api.mark(dag, run, "sensor", "failed", map_index=0)
    record("mapped_sensor_action_to_cancel_s", wait_cancelled(emu, long_op, f"{case}[0]"))
    done = api.wait_state(dag, run, "sensor", {"success", "failed"}, timeout=180, map_index=1)
    assert done["state"] == "success"
    assert api.state(dag, run, "sensor", 0) == "failed"
    time.sleep(3)
    assert_cancelled_once(emu, long_op)
    assert cancels(emu, short_op) == 0 and server_state(emu, short_op) == "SUCCEEDED"


# -- 12. A deferrable sensor cleared while deferred ---------------------------------------------------------------


@dags("sensor_clear")
def test_cleared_deferred_sensor(api: Api, runs: dict[str, str], system_emulator: EmulatorServer) -> None:
    """The owned twin: the clear cancels the watched operation (Airflow >= 3.3: the trigger's on_kill; before: the
    task is no longer deferred), and the re-run, finding it cancelled, fails. Where a re-run is deferred again on
    the same operation before the old trigger stops (Airflow < 3.3), nothing is cancelled and the task waits on:
    never a failed task with its operation running. The ``keep`` twin never cancels and waits on."""
    emu, case = system_emulator, "sensor_clear"
    dag, run = PREFIX + case, runs[case]
    names = {task: op_name(api, runs, case, f"start_{task}") for task in ("cancel", "keep")}
    for task in ("cancel", "keep"):
        api.wait_state(dag, run, f"sensor_{task}", {"deferred"}, timeout=180)
        wait_sensor_trigger_polled(emu, names[task], f"{case}.{task}")
    started = time.monotonic()
    for task in ("cancel", "keep"):
        api.clear(dag, run, f"sensor_{task}")
    keep = api.wait_state(dag, run, "sensor_keep", {"deferred", "failed", "success"}, try_number=2, timeout=180)
    assert keep["state"] == "deferred"
    try:
        wait_for(f"{case}: a cancel for {names['cancel']}", lambda: cancels(emu, names["cancel"]) >= 1, timeout=30)
    except Exception:
        OUTCOMES[case] = "re-run re-deferred on the same operation; no cancel"
        assert api.state(dag, run, "sensor_cancel") in {"deferred", "running", "queued", "scheduled"}
        assert server_state(emu, names["cancel"]) in RUNNING
    else:
        OUTCOMES[case] = "cancelled; the re-run failed on the cancelled operation"
        record("sensor_clear_action_to_cancel_s", time.monotonic() - started)
        rerun = api.wait_state(dag, run, "sensor_cancel", {"failed", "success"}, try_number=2, timeout=120)
        assert rerun["state"] == "failed"
        time.sleep(3)
        assert_cancelled_once(emu, names["cancel"])
    print(f"[outcome] {case}: {OUTCOMES[case]}")
    assert cancels(emu, names["keep"]) == 0 and server_state(emu, names["keep"]) in RUNNING


# -- 13. The token endpoint fails while the trigger waits ---------------------------------------------------------


@dags("token_outage")
def test_token_endpoint_outage_is_ridden_out(api: Api, runs: dict[str, str], system_emulator: EmulatorServer) -> None:
    emu, case = system_emulator, "token_outage"
    name = op_name(api, runs, case, "start")
    ti = api.wait_state(PREFIX + case, runs[case], "sensor", {"success", "failed"}, timeout=240)
    assert ti["state"] == "success"
    assert fault_rule(emu, "503", f"key={TOKEN_KEY}")["injected"] == 9  # the refreshes really failed meanwhile
    assert cancels(emu, name) == 0 and server_state(emu, name) == "SUCCEEDED"
    record("token_outage_sensor_ran_s", ran_s(ti))


# -- 14. A worker-side wait through an outage longer than one call's retry budget ---------------------------------


@dags("worker_outage")
def test_worker_wait_through_an_outage(api: Api, runs: dict[str, str], system_emulator: EmulatorServer) -> None:
    emu, case = system_emulator, "worker_outage"
    dag, run = PREFIX + case, runs[case]
    names = {
        task: op_name(api, runs, case, task) for task in ("rides_out", "past_deadline_cancel", "past_deadline_keep")
    }
    ti = api.wait_state(dag, run, "rides_out", {"success", "failed", "up_for_retry"}, timeout=240)
    assert ti["state"] == "success"  # the service came back before the task's deadline
    assert fault_rule(emu, "503", "projects/sysoutage1/")["injected"] == 8
    assert cancels(emu, names["rides_out"]) == 0
    record("worker_outage_rides_out_ran_s", ran_s(ti))
    for task in ("past_deadline_cancel", "past_deadline_keep"):
        ti = api.wait_state(dag, run, task, {"success", "failed", "up_for_retry"}, timeout=180)
        assert ti["state"] == "failed"
    wait_cancelled(emu, names["past_deadline_cancel"], "worker outage past the deadline")
    time.sleep(3)
    assert_cancelled_once(emu, names["past_deadline_cancel"])
    assert cancels(emu, names["past_deadline_keep"]) == 0
    assert server_state(emu, names["past_deadline_keep"]) in RUNNING


# -- 8 and the whole: no other cancel reached the emulator ------------------------------------------------------


def test_no_other_cancel_reached_the_emulator(system_emulator: EmulatorServer) -> None:
    """Exactly one cancel for each operation a test proved cancelled; none from the ``keep`` twins, the restart,
    Cloud Run, or the mapped / sensor indexes left alone."""
    stats = system_emulator.admin.stats()
    by_op = stats["cancels"]["by_operation"]
    assert by_op == dict.fromkeys(CANCELLED, 1), by_op
    assert stats["requests"]["cancel"] == len(CANCELLED)
    record("total_since_trigger_s", since_triggered())
    print(f"[timings] {TIMINGS}")
    print(f"[outcomes] {OUTCOMES}")

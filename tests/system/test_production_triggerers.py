"""Two triggerers, one SIGKILLed: the other adopts its triggers, nothing is cancelled; a user action in the gap.

Production deployment only (``--system-deployment=production``; ``pytest -m system -k failover`` runs the
failover case alone). Airflow 3.3 hands a dead triggerer's triggers over in ``Trigger.assign_unassigned()``
(airflow/models/trigger.py): a trigger whose triggerer's heartbeat is older than ``[triggerer]
triggerer_health_check_threshold`` (shortened to 15 s here, default 30) is assigned to a live triggerer, at most
``[triggerer] max_trigger_to_select_per_loop`` (50) per loop. Which process polled an operation is read from the
emulator's history (the User-Agent names the pid; the triggerer's runner is a child of the triggerer).
"""

from __future__ import annotations

import time

import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer

from .harness import Api, Deployment, wait_for
from .production_cases import (
    ONLY_PRODUCTION,
    as_production,
    cancels,
    holder,
    operations,
    polls,
    since,
    task_instances,
    wait_states,
)
from .production_deployment import PRODUCTION_TUNING, TRIGGERERS, ProductionDeployment

pytestmark = [pytest.mark.system, ONLY_PRODUCTION, pytest.mark.timeout(1500)]

PREFIX = "gcp_ops_prod_"
FAILOVER_TASKS = 200
THRESHOLD_S = float(PRODUCTION_TUNING["AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD"])
HANDOVER_BOUND_S = THRESHOLD_S + 45  # threshold + the survivor's loop + one poll, with room for a loaded machine
RESULTS: dict[str, object] = {}


def record(key: str, value: object) -> None:
    RESULTS[key] = value
    print(f"[production] {key}: {value}")


def _pids(dep: ProductionDeployment) -> dict[str, set[int]]:
    return {name: dep.pids_of(name) for name in TRIGGERERS}


def _wait_held(emu: EmulatorServer, project: str, count: int, pids: dict[str, set[int]]) -> dict[str, list[str]]:
    """``{triggerer: [operation]}`` once each of the project's ``count`` operations was polled by a triggerer."""

    def probe() -> dict[str, list[str]] | None:
        names = operations(emu, project)
        if len(names) != count:
            return None
        held: dict[str, list[str]] = {name: [] for name in TRIGGERERS}
        for name in names:
            who = holder(emu, name, pids)
            if who is None:  # not polled yet, or last by the worker that started it
                return None
            held[who].append(name)
        return held

    result: dict[str, list[str]] = wait_for(f"{count} {project} operations polled by a triggerer", probe, timeout=120)
    return result


def _restore(dep: ProductionDeployment, victim: str) -> None:
    dep.start_component(victim)
    dep.wait_triggerers(len(TRIGGERERS), timeout=180)


def test_failover_after_sigkill_adopts_every_trigger_without_a_cancel(
    deployment: Deployment, api: Api, system_emulator: EmulatorServer
) -> None:
    dep, emu, dag_id = as_production(deployment), system_emulator, PREFIX + "failover"
    api.wait_for_dags({dag_id}, timeout=180)
    started = time.monotonic()
    run_id = api.trigger(dag_id)
    wait_states(api, dag_id, run_id, {"deferred"}, count=FAILOVER_TASKS, timeout=900)
    record("failover_all_deferred_s", since(started))
    pids = _pids(dep)
    held = _wait_held(emu, "failover", FAILOVER_TASKS, pids)
    names = sorted(n for v in held.values() for n in v)
    record("failover_triggers_per_triggerer", {k: len(v) for k, v in held.items()})
    assert all(len(v) >= 10 for v in held.values()), "the triggers should be spread over both triggerers"

    victim = max(held, key=lambda k: len(held[k]))
    survivor = next(t for t in TRIGGERERS if t != victim)
    orphans = held[victim]
    killed_at = dep.kill(victim)
    try:
        # Every orphan is polled by the survivor, within the threshold plus the survivor's loop and a poll.
        def adopted() -> set[str]:  # polled by the survivor after the dead triggerer's last poll
            out = set()
            for name in orphans:
                seen = polls(emu, name)
                last = max(t for t, pid in seen if pid in pids[victim])
                if any(pid in pids[survivor] and t > last for t, pid in seen):
                    out.add(name)
            return out

        first = wait_for("a first adopted trigger", adopted, timeout=HANDOVER_BOUND_S, interval=1)
        record("failover_first_adoption_after_kill_s", since(killed_at))
        assert len(first) >= 1
        wait_for(
            f"all {len(orphans)} orphans adopted",
            lambda: len(adopted()) == len(orphans),
            timeout=HANDOVER_BOUND_S,
            interval=1,
        )
        record("failover_all_adopted_after_kill_s", since(killed_at))
        assert since(killed_at) >= THRESHOLD_S - 5, "adopted before the dead triggerer's heartbeat went stale?"
        # While handed over, every task stays deferred (none failed, none rescheduled).
        states = {ti["state"] for ti in task_instances(api, dag_id, run_id)}
        assert states == {"deferred"}, states

        # No operation is polled from both triggerers at once for longer than the handover threshold: per operation,
        # the overlap of the two triggerers' polling spans (a trigger moved between two live triggerers under
        # load polls on in the old one until its next loop). For each orphan, the gap between the dead
        # triggerer's last poll and the survivor's first one after it is the handover, seen from the operation.
        gaps, overlaps, bounced = [], [], 0
        for name in names:
            seen = polls(emu, name)
            by_victim = [t for t, pid in seen if pid in pids[victim]]
            by_survivor = [t for t, pid in seen if pid in pids[survivor]]
            if by_victim and by_survivor:
                overlaps.append(max(0.0, min(max(by_victim), max(by_survivor)) - max(min(by_victim), min(by_survivor))))
                bounced += min(by_survivor) < max(by_victim) and name not in orphans
            if name in orphans:
                after = [t for t in by_survivor if t > max(by_victim)]
                assert after, f"{name}: never polled by {survivor} after {victim} died: {seen}"
                gaps.append(min(after) - max(by_victim))
        record("failover_poll_gap_s", {"min": round(min(gaps), 1), "max": round(max(gaps), 1)})
        record("failover_double_polling_s", {"max": round(max(overlaps, default=0.0), 1), "moved_before_kill": bounced})
        assert max(gaps) < HANDOVER_BOUND_S
        assert max(overlaps, default=0.0) < THRESHOLD_S, "an operation polled from both triggerers too long"

        # Each operation ends with its real outcome (the emulator's clock sped up: 3000 s in about 30 s).
        emu.admin.configure(time_scale=100)
        tis = wait_states(api, dag_id, run_id, {"success", "failed"}, count=FAILOVER_TASKS, timeout=300)
    finally:
        emu.admin.configure(time_scale=1)
        _restore(dep, victim)
    outcomes = {"success": 0, "failed": 0}
    for ti in tis:
        name = api.call(
            "GET",
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/wait/xcomEntries/operation_name",
            params={"map_index": ti["map_index"]},
        )["value"]
        final = emu.admin.history(name)["state"]
        assert (ti["state"], final) in {("success", "SUCCEEDED"), ("failed", "FAILED")}, (ti["map_index"], final)
        assert final == ("SUCCEEDED" if ti["map_index"] % 2 == 0 else "FAILED")
        outcomes[ti["state"]] += 1
    record("failover_outcomes", outcomes)
    assert outcomes == {"success": FAILOVER_TASKS // 2, "failed": FAILOVER_TASKS // 2}
    assert sum(cancels(emu, n) for n in names) == 0


def test_marked_failed_while_its_triggerer_is_dead_gap_and_backstop(
    deployment: Deployment, api: Api, system_emulator: EmulatorServer
) -> None:
    """Measured (Airflow 3.3): a deferred task marked failed after its triggerer died and before the handover
    gets NO cancel. ``Trigger.clean_unused()`` (run by the surviving triggerer every loop) unlinks every task
    instance that is no longer DEFERRED and deletes the trigger, so no triggerer ever adopts it and nothing
    calls ``on_kill``. The operation keeps running until the housekeeping backstop cancels it (one cancel).
    The surviving triggerer's tasks marked failed the normal way get exactly one cancel each."""
    dep, emu, dag_id = as_production(deployment), system_emulator, PREFIX + "handover"
    api.wait_for_dags({dag_id}, timeout=180)
    run_id = api.trigger(dag_id)
    wait_states(api, dag_id, run_id, {"deferred"}, count=6, timeout=300)
    pids = _pids(dep)
    held = _wait_held(emu, "handover", 6, pids)
    names = sorted(n for v in held.values() for n in v)
    victim = max(held, key=lambda k: len(held[k]))
    survivor = next(t for t in TRIGGERERS if t != victim)
    op_of = {
        ti["task_id"]: api.xcom(dag_id, run_id, ti["task_id"], "operation_name")
        for ti in task_instances(api, dag_id, run_id)
    }
    task_of = {name: task for task, name in op_of.items()}
    record("handover_triggers_per_triggerer", {k: len(v) for k, v in held.items()})

    killed_at = dep.kill(victim)
    try:
        for name in held[victim]:  # in the gap: the triggerer is dead, its triggers not yet adopted
            api.mark(dag_id, run_id, task_of[name], "failed")
        record("handover_marked_after_kill_s", since(killed_at))
        assert since(killed_at) < THRESHOLD_S, "the marks must land before the handover"
        time.sleep(THRESHOLD_S + 30)  # well past the handover: a cancel from an adopted trigger would be here
        dep.wait_triggerers(1)
        for name in held[victim]:
            assert cancels(emu, name) == 0, f"{name}: a cancel arrived after all: {emu.admin.history(name)}"
            assert not emu.admin.history(name)["done"], f"{name} should still run (no one cancelled it)"
            assert api.state(dag_id, run_id, task_of[name]) == "failed"
        record("handover_gap_cancels", 0)
        # Control: the survivor's triggers get their one cancel when marked failed.
        for name in held[survivor]:
            api.mark(dag_id, run_id, task_of[name], "failed")
        for name in held[survivor]:
            wait_for(f"{name} cancelled", lambda name=name: cancels(emu, name) == 1, timeout=45)
    finally:
        _restore(dep, victim)

    # The backstop: housekeeping cancels the orphans (running longer than its threshold), once each.
    hk = PREFIX + "housekeeping_handover"
    hk_run = api.trigger(hk)
    api.wait_state(hk, hk_run, "housekeeping", {"success", "failed"}, timeout=180)
    assert api.state(hk, hk_run, "housekeeping") == "success"
    for name in names:
        assert cancels(emu, name) == 1, f"{name}: {emu.admin.history(name)}"
    record("handover_backstop_cancelled", len(held[victim]))

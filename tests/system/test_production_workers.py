"""A Celery worker SIGKILLed (with every process it started: a lost node) while StartOperationOperators wait on it.

Production deployment only. Nothing of ours runs on the lost worker (no ``on_kill``, no cancel). Airflow 3.3's
scheduler finds the task instance without a heartbeat after ``[scheduler] task_instance_heartbeat_timeout``
(shortened to 30 s here, default 300; checked every ``task_instance_heartbeat_timeout_detection_interval``) and
fails it, or puts it up for retry when it has retries left (``SchedulerJobRunner._purge_task_instances_without_
heartbeats`` in airflow/jobs/scheduler_job_runner.py). Decision, asserted here:

- ``reattach`` (``retries=1``, a ``request_id`` that is the same on every try): the retry's start call gets the
  SAME operation back (the service deduplicates ``requestId``), waits for it and succeeds with it: the orphan is
  adopted, never cancelled, never duplicated.
- ``no_retry``: the task is failed by the scheduler and its operation keeps running: no process of ours is left
  to cancel it. The backstop is housekeeping (``OperationsHousekeepingOperator``), which cancels it once.
"""

from __future__ import annotations

import time

import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer

from .harness import Api, Deployment, wait_for
from .production_cases import ONLY_PRODUCTION, as_production, cancels, operation_name, operations, since
from .production_deployment import PRODUCTION_TUNING, WORKERS

pytestmark = [pytest.mark.system, ONLY_PRODUCTION, pytest.mark.timeout(900)]

PREFIX = "gcp_ops_prod_"
HEARTBEAT_TIMEOUT_S = float(PRODUCTION_TUNING["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"])
LOST_WORKER = WORKERS[1]  # the only one serving the "lost" queue


def test_worker_sigkilled_retry_reattaches_and_no_retry_is_failed_with_the_backstop(
    deployment: Deployment, api: Api, system_emulator: EmulatorServer
) -> None:
    dep, emu, dag_id = as_production(deployment), system_emulator, PREFIX + "worker_lost"
    api.wait_for_dags({dag_id}, timeout=180)
    run_id = api.trigger(dag_id)
    tasks = ("reattach", "no_retry")
    for task in tasks:
        api.wait_state(dag_id, run_id, task, {"running"}, timeout=300)
    first = {task: operation_name(api, dag_id, run_id, task) for task in tasks}
    for task in tasks:  # the operator is in its wait loop on the worker
        # The emulator counts an operation from its first GET; the task pushes its name before that GET (and the
        # operation's XCom for the links in between), so a name without a count yet is "not polling yet".
        wait_for(
            f"{task} polling",
            lambda task=task: emu.admin.stats()["operations"].get(first[task], {}).get("get"),
            timeout=60,
        )
        pid = api.task_instance(dag_id, run_id, task).get("pid")
        assert pid in dep.pids_of(LOST_WORKER), f"{task} runs in pid {pid}, not under {LOST_WORKER}"

    killed_at = dep.kill(LOST_WORKER)
    try:
        dep.start_component(LOST_WORKER)  # the replacement node (the retry's queue needs a worker)
        no_retry = api.wait_state(dag_id, run_id, "no_retry", {"failed", "success"}, timeout=HEARTBEAT_TIMEOUT_S + 120)
        print(f"[production] worker_lost_no_retry_failed_after_kill_s: {since(killed_at)}")
        assert no_retry["state"] == "failed"
        assert since(killed_at) >= HEARTBEAT_TIMEOUT_S - 5
        ti = api.wait_state(dag_id, run_id, "reattach", {"running"}, try_number=2, timeout=HEARTBEAT_TIMEOUT_S + 120)
        print(f"[production] worker_lost_retry_running_after_kill_s: {since(killed_at)}")
        assert ti["try_number"] == 2
        # The retry re-attached: the same operation, no new one, no cancel; it ends with the operation.
        assert operation_name(api, dag_id, run_id, "reattach") == first["reattach"]
        ti = api.wait_state(dag_id, run_id, "reattach", {"success", "failed"}, timeout=240)
        assert ti["state"] == "success"
        assert emu.admin.history(first["reattach"])["state"] == "SUCCEEDED"
        assert cancels(emu, first["reattach"]) == 0
        assert len(operations(emu, "worker-lost")) == 2  # one per task: the retry started none
        # No process of ours could cancel the no-retry task's operation: it runs on after the task failed.
        assert cancels(emu, first["no_retry"]) == 0
        assert not emu.admin.history(first["no_retry"])["done"]
    finally:
        if not dep.components[LOST_WORKER].running:
            dep.start_component(LOST_WORKER)

    hk = PREFIX + "housekeeping_worker_lost"
    started = time.monotonic()
    hk_run = api.trigger(hk)
    assert api.wait_state(hk, hk_run, "housekeeping", {"success", "failed"}, timeout=180)["state"] == "success"
    print(f"[production] worker_lost_backstop_s: {since(started)}")
    assert cancels(emu, first["no_retry"]) == 1
    # A cancel is asynchronous: "the server makes a best effort to cancel the operation" and the client checks the
    # outcome with GetOperation (google/longrunning/operations.proto). Housekeeping sends it and does not wait; the
    # emulator's operation ends 0.2 s after the request (``cancel_delay_s``), which can fall after the task's end.
    seen = emu.admin.history(first["no_retry"])
    print(f"[production] worker_lost_orphan_at_housekeeping_end: {seen['state']} (cancel {seen['cancel_requested_t']})")
    wait_for(
        "the orphan cancelled",
        lambda: emu.admin.history(first["no_retry"])["state"] == "CANCELLED",
        timeout=10,
        interval=0.1,
    )
    assert cancels(emu, first["reattach"]) == 0  # done: housekeeping leaves it alone

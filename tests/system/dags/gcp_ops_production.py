"""DAGs of the production-shaped deployment's own cases (``tests/system/test_production_*.py``).

Parsed by both deployments, triggered only on the production one (``--system-deployment=production``). Each DAG
starts its operations in a project of its own, so the tests find them at the emulator by name prefix.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG

from airflow_provider_gcp_ops.operators.housekeeping import OperationsHousekeepingOperator
from airflow_provider_gcp_ops.operators.start import StartOperationOperator

PREFIX = "gcp_ops_prod_"
FAILOVER_TASKS = 200
# Long enough to outlive every wait of the cases; the failover test then speeds the emulator's clock up
# (time_scale) so that every operation reaches its real outcome within seconds.
LONG_S = 3000
HOUSEKEEPING_AGE_S = 20
FAILED_OUTCOME = {"error": {"code": 9, "message": "the batch failed (emulated)"}}


def path(project: str) -> str:
    return f"v1/projects/{project}/regions/us-central1/clusters"


def body(name: str, duration: float | str, outcome: dict[str, object] | None = None) -> dict[str, object]:
    emulator: dict[str, object] = {"service": "dataproc", "duration_s": duration, "cancel_delay_s": 0.2}
    if outcome is not None:
        emulator["outcome"] = outcome
    return {"clusterName": name, "emulator": emulator}


def _dag(name: str, **kw: object) -> DAG:
    return DAG(
        f"{PREFIX}{name}",
        schedule=None,
        catchup=False,
        tags=["gcp-ops-system-test", "production-deployment"],
        default_args={"retries": 0},
        **kw,  # type: ignore[arg-type]
    )


# Failover: 200 deferred tasks (one mapped task), half of whose operations succeed and half fail.
with _dag("failover", max_active_tasks=FAILOVER_TASKS):
    StartOperationOperator.partial(
        task_id="wait", path=path("failover"), service="dataproc", deferrable=True, poll_interval=4.0
    ).expand(
        body=[body(f"failover-{i}", LONG_S, None if i % 2 == 0 else FAILED_OUTCOME) for i in range(FAILOVER_TASKS)]
    )

# A user marks tasks failed while their triggerer is dead and before another one adopts their triggers.
with _dag("handover"):
    for _i in range(6):
        StartOperationOperator(
            task_id=f"t{_i}",
            path=path("handover"),
            service="dataproc",
            body=body(f"handover-{_i}", LONG_S),
            deferrable=True,
            poll_interval=2.0,
        )

# A Celery worker is SIGKILLed while the operator waits on it (not deferrable). Both tasks run on the "lost"
# queue, which only the second worker serves. ``reattach`` retries with the same request_id: the retry gets
# the same operation back (requestId deduplication) and waits for it; ``no_retry`` has no retry.
with _dag("worker_lost"):
    StartOperationOperator(
        task_id="reattach",
        path=path("worker-lost"),
        service="dataproc",
        body=body("reattach", 150),
        request_id="{{ run_id }}-reattach",  # the same on every try: a retry re-attaches
        deferrable=False,
        poll_interval=2.0,
        queue="lost",
        retries=1,
        retry_delay=timedelta(seconds=1),
    )
    StartOperationOperator(
        task_id="no_retry",
        path=path("worker-lost"),
        service="dataproc",
        body=body("no-retry", LONG_S),
        deferrable=False,
        poll_interval=2.0,
        queue="lost",
    )

# The backstop for an operation no task can cancel any more (its task failed where no code of ours ran):
# cancel the project's operations running longer than the cases' waits.
for _project in ("handover", "worker-lost"):
    with _dag(f"housekeeping_{_project.replace('-', '_')}"):
        OperationsHousekeepingOperator(
            task_id="housekeeping",
            service="dataproc",
            parents=[f"projects/{_project}/regions/us-central1"],
            cancel_running_older_than=timedelta(seconds=HOUSEKEEPING_AGE_S),
            delete_done_older_than=timedelta(days=7),
        )

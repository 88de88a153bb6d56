"""The system test's DAGs: one DAG per kill path, each with a task that owns its operation (``cancel``,
``cancel_on_kill=True``) and its twin that must leave it alone (``keep``, ``cancel_on_kill=False``).

Parsed by the deployment's DAG processor. Operations are created by the tasks themselves through the emulator's
start-method route (``GCP_OPERATIONS_EMULATOR_HOST`` is set for every component); the ``emulator`` object in the
body says how long each runs. Timings are chosen so that all DAGs can run at once on ``PARALLELISM=4``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import DAG

from airflow_provider_gcp_ops.operators.start import StartOperationOperator
from airflow_provider_gcp_ops.sensors.operation import OperationSensor

PREFIX = "gcp_ops_sys_"
DATAPROC = "v1/projects/sys/regions/us-central1/clusters"
CLOUD_RUN = "v2/projects/sys/locations/us-central1/jobs/job-1:run"
LONG_S = 900  # longer than any case: only a cancel (or the end of the test) ends these
TIMEOUT_S = 20  # execution_timeout / sensor timeout of the timeout cases
POLL_S = 2.0
TWINS = {"cancel": True, "keep": False}


def _dag(name: str, **kw: Any) -> DAG:
    return DAG(
        f"{PREFIX}{name}",
        schedule=None,
        catchup=False,
        tags=["gcp-ops-system-test"],
        default_args={"retries": 0},
        **kw,
    )


def _start(
    task_id: str,
    *,
    duration: Any = LONG_S,
    service: str = "dataproc",
    path: str = DATAPROC,
    **kw: Any,
) -> StartOperationOperator:
    kw.setdefault("deferrable", True)
    return StartOperationOperator(
        task_id=task_id,
        path=path,
        service=service,
        body={"clusterName": task_id, "emulator": {"service": service, "duration_s": duration, "cancel_delay_s": 0.2}},
        poll_interval=POLL_S,
        **kw,
    )


# 1. execution_timeout while the operator waits on a worker: Airflow's alarm, then on_kill.
with _dag("worker_timeout"):
    for _task, _cancel in TWINS.items():
        _start(_task, deferrable=False, cancel_on_kill=_cancel, execution_timeout=timedelta(seconds=TIMEOUT_S))

# 2. execution_timeout while deferred: Airflow does nothing; our deadline does (trigger timeout event).
with _dag("deferred_timeout"):
    for _task, _cancel in TWINS.items():
        _start(_task, cancel_on_kill=_cancel, execution_timeout=timedelta(seconds=TIMEOUT_S))

# 3. OperationSensor (deferrable): its timeout expires while deferred.
with _dag("sensor_timeout"):
    for _task, _cancel in TWINS.items():
        _started = _start(f"start_{_task}", wait_for_completion=False)
        _sensor = OperationSensor(
            task_id=f"sensor_{_task}",
            operation_name=f"{{{{ ti.xcom_pull(task_ids='start_{_task}', key='operation_name') }}}}",
            service="dataproc",
            deferrable=True,
            poke_interval=POLL_S,
            timeout=TIMEOUT_S,
            cancel_on_kill=_cancel,
        )
        _started >> _sensor

# 4-6. A deferred task marked failed / cleared / marked success through the REST API. On a re-run after a
# clear (try 2) the task starts a new, short operation, which it waits for and succeeds with.
for _case in ("mark_failed", "clear", "mark_success"):
    with _dag(_case, render_template_as_native_obj=True):
        for _task, _cancel in TWINS.items():
            _start(_task, cancel_on_kill=_cancel, duration=f"{{{{ {LONG_S} if ti.try_number == 1 else 10 }}}}")

# 7. The triggerer restarts while the trigger waits: no cancel; the task completes when the operation ends.
with _dag("triggerer_restart"):
    _start("wait", duration=90)

# 9. A service without a cancel verb (Cloud Run v2): each path ends the task, nothing hangs, no cancel is sent.
with _dag("cloud_run"):
    _start("worker_timeout", service="run", path=CLOUD_RUN, deferrable=False, execution_timeout=timedelta(seconds=15))
    _start("deferred_timeout", service="run", path=CLOUD_RUN, execution_timeout=timedelta(seconds=15))
    _start("mark_failed", service="run", path=CLOUD_RUN)

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
# Connections the deployment defines (tests/system/conftest.py): a service-account key whose token_uri is the
# emulator's token endpoint (short-lived tokens: google-auth refreshes every few seconds), and two attempts per
# call instead of ten (so an outage outlasts one call's retry budget in seconds, not minutes).
TOKEN_CONN = "gcp_ops_sys_token"
FEW_RETRIES_CONN = "gcp_ops_sys_few_retries"
OUTAGE_PROJECTS = {"rides_out": "sysoutage1", "past_deadline": "sysoutage2"}  # fault rules match these names
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


def _body(name: str, duration: Any, service: str = "dataproc") -> dict[str, Any]:
    return {"clusterName": name, "emulator": {"service": service, "duration_s": duration, "cancel_delay_s": 0.2}}


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
        body=_body(task_id, duration, service),
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


def _watched_twins(**sensor_kw: Any) -> None:
    """Per twin: ``start_<twin>`` starts a long operation (no wait), ``sensor_<twin>`` watches it, deferred."""
    for task, cancel in TWINS.items():
        started = _start(f"start_{task}", wait_for_completion=False)
        started >> OperationSensor(
            task_id=f"sensor_{task}",
            operation_name=f"{{{{ ti.xcom_pull(task_ids='start_{task}', key='operation_name') }}}}",
            service="dataproc",
            deferrable=True,
            poke_interval=POLL_S,
            cancel_on_kill=cancel,
            **sensor_kw,
        )


# 3. OperationSensor (deferrable): its timeout expires while deferred.
with _dag("sensor_timeout"):
    _watched_twins(timeout=TIMEOUT_S)

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

# 10. Dynamic task mapping: three map indexes of one deferred StartOperationOperator. The test marks index 0
# failed, clears index 1 (its try 2 starts a short operation), leaves index 2 to finish on its own.
with _dag("mapped", render_template_as_native_obj=True):
    StartOperationOperator.partial(
        task_id="start", path=DATAPROC, service="dataproc", deferrable=True, poll_interval=POLL_S
    ).expand(
        body=[
            _body("m0", LONG_S),
            _body("m1", f"{{{{ {LONG_S} if ti.try_number == 1 else 10 }}}}"),
            _body("m2", 60),
        ]
    )

# 11. A mapped deferrable sensor over two operations started upstream: index 0 is marked failed while deferred,
# index 1 sees its operation succeed.
with _dag("mapped_sensor"):
    _started = _start("start", wait_for_completion=False)
    _sensor = OperationSensor.partial(
        task_id="sensor", service="dataproc", deferrable=True, poke_interval=POLL_S
    ).expand(
        operation_name=[
            "{{ ti.xcom_pull(task_ids='start', key='operation_name') }}",
            "{{ ti.xcom_pull(task_ids='start_short', key='operation_name') }}",
        ]
    )
    _short = _start("start_short", wait_for_completion=False, duration=45)
    [_started, _short] >> _sensor

# 12. A deferrable sensor cleared while deferred (the twins: owned / cancel_on_kill=False).
with _dag("sensor_clear"):
    _watched_twins()

# 13. The token endpoint fails while the trigger waits (google-auth's real refresh flow, credentials from the
# connection's key): the trigger rides it out and the task completes when its operation does.
with _dag("token_outage"):
    _started = _start("start", wait_for_completion=False, duration=60)
    _started >> OperationSensor(
        task_id="sensor",
        operation_name="{{ ti.xcom_pull(task_ids='start', key='operation_name') }}",
        service="dataproc",
        gcp_conn_id=TOKEN_CONN,
        deferrable=True,
        poke_interval=POLL_S,
    )

# 14. A wait in a worker through an outage longer than one call's retry budget: it rides out until the service
# returns and succeeds; or, when the outage outlasts the task's own timeout, it cancels (owned) and fails.
with _dag("worker_outage"):
    _start(
        "rides_out",
        path=f"v1/projects/{OUTAGE_PROJECTS['rides_out']}/regions/us-central1/clusters",
        duration=20,
        deferrable=False,
        gcp_conn_id=FEW_RETRIES_CONN,
        timeout=300,
    )
    for _task, _cancel in TWINS.items():
        _start(
            f"past_deadline_{_task}",
            path=f"v1/projects/{OUTAGE_PROJECTS['past_deadline']}/regions/us-central1/clusters",
            deferrable=False,
            gcp_conn_id=FEW_RETRIES_CONN,
            timeout=TIMEOUT_S,
            cancel_on_kill=_cancel,
        )

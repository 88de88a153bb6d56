"""Wait for a long-running operation someone else started, without holding a worker slot.

Run it on demand with the operation to watch::

    airflow dags trigger example_gcp_ops_wait_for_operation \
        -c '{"operation_name": "projects/my-project/locations/europe-west1/operations/operation-17..."}'

``OperationSensor(deferrable=True)`` checks once in the worker, then hands the wait to the triggerer: the task
holds no worker slot while the operation runs. The sensor succeeds when the operation succeeds; an operation
that fails or is cancelled fails the task with Google's error code and message. The sensor's XCom is a small
summary of the operation, which the next task reads.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_provider_gcp_ops.sensors.operation import OperationSensor

with DAG(
    dag_id="example_gcp_ops_wait_for_operation",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    params={
        "operation_name": Param(
            "projects/my-project/locations/europe-west1/operations/REPLACE-ME",
            type="string",
            description="The Data Fusion operation to wait for.",
        ),
    },
    tags=["example", "gcp-ops"],
) as dag:
    wait = OperationSensor(
        task_id="wait",
        operation_name="{{ params.operation_name }}",
        service="datafusion",  # projects/*/locations/*/operations/* names fit many services: say which
        target="succeeded",  # or "done" (any ending) or "cancelled"
        deferrable=True,  # wait in the triggerer, not in a worker
        poke_interval=5,  # first poll after 5 s; then less often as the operation ages (at most every 60 s)
        timeout=timedelta(hours=6),  # the sensor fails after 6 hours of waiting
        cancel_on_kill=False,  # we only watch: never cancel someone else's operation on a timeout or a kill
    )

    @task
    def report(summary: dict[str, Any]) -> None:
        # The summary: name, service, state, done, error_code, error_status, error_message, start_time, ...
        print(f"Operation {summary['name']} ended {summary['state']} (started {summary['start_time']})")

    report(wait.output)

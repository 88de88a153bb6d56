"""Cancel a Google Cloud long-running operation and wait to see how it really ended.

Run it on demand with the operation to cancel as the run's configuration, e.g.::

    airflow dags trigger example_gcp_ops_cancel_operation \
        -c '{"operation_name": "projects/my-project/regions/us-central1/operations/1b2c..."}'

Why wait after cancelling? A cancel is only a *request*: Google answers 200 at once and the operation may still
finish normally. ``CancelOperationOperator`` therefore polls until the operation is done and reports the outcome:
``cancelled`` (the task succeeds), ``finished_anyway`` (it fails by default), ``already_done`` (no cancel was
sent), or ``unimplemented`` (the service cannot cancel). ``GetOperationOperator`` then reads the final state,
the kind of read-only step you would use to report or branch on.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_provider_gcp_ops.operators.cancel import CancelOperationOperator
from airflow_provider_gcp_ops.operators.inspect import GetOperationOperator

with DAG(
    dag_id="example_gcp_ops_cancel_operation",
    schedule=None,  # on demand only
    start_date=datetime(2025, 1, 1),
    catchup=False,
    params={
        "operation_name": Param(
            "projects/my-project/regions/us-central1/operations/REPLACE-ME",
            type="string",
            description="The operation to cancel: a relative name, a full resource name or a REST URL.",
        ),
    },
    tags=["example", "gcp-ops"],
) as dag:
    cancel = CancelOperationOperator(
        task_id="cancel",
        # Dataproc names (projects/*/regions/*/operations/*) say which service they belong to. For the many
        # services whose names look like projects/*/locations/*/operations/*, add service="datafusion" etc.
        operation_name="{{ params.operation_name }}",
        timeout=timedelta(minutes=30),  # give up waiting for the cancel to take effect after 30 minutes
        on_finished_anyway="fail",  # the default: a cancel that did not stop the work is worth a red task
    )

    final_state = GetOperationOperator(
        task_id="final_state",
        operation_name="{{ params.operation_name }}",
    )

    cancel >> final_state

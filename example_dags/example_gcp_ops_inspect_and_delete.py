"""Look at operations, then delete the record of one that is finished.

- ``ListOperationsOperator`` lists a region's finished Dataproc operations (a server-side ``filter``, in the
  service's own syntax) and returns at most ``max_results`` small summaries as its XCom.
- ``GetOperationOperator`` reads one operation.
- ``DeleteOperationOperator`` deletes that operation's record. Deleting does **not** cancel: it only forgets.
  So it reads the operation first and refuses one that is still running (cancel it first, or pass
  ``allow_running=True`` if you really mean to drop the record of running work).

Run it with the operation to delete::

    airflow dags trigger example_gcp_ops_inspect_and_delete \
        -c '{"project_id": "my-project", "region": "us-central1",
             "operation_name": "projects/my-project/regions/us-central1/operations/1b2c..."}'
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider_gcp_ops.operators.delete import DeleteOperationOperator
from airflow_provider_gcp_ops.operators.inspect import GetOperationOperator, ListOperationsOperator

with DAG(
    dag_id="example_gcp_ops_inspect_and_delete",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    params={
        "project_id": Param("my-project", type="string"),
        "region": Param("us-central1", type="string"),
        "operation_name": Param("projects/my-project/regions/us-central1/operations/REPLACE-ME", type="string"),
    },
    tags=["example", "gcp-ops"],
) as dag:
    finished = ListOperationsOperator(
        task_id="list_finished",
        parent="projects/{{ params.project_id }}/regions/{{ params.region }}",
        filter="status.state = DONE",  # Dataproc's filter syntax; None lists everything
        max_results=20,  # keeps the XCom small; a warning says when there were more
    )

    read = GetOperationOperator(task_id="read", operation_name="{{ params.operation_name }}")

    delete = DeleteOperationOperator(
        task_id="delete",
        operation_name="{{ params.operation_name }}",
        not_found_ok=True,  # already gone (deleted, or expired ~30 days after it finished) is fine
    )

    finished >> read >> delete

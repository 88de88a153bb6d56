"""Daily housekeeping of long-running operations: cancel forgotten ones, delete old records.

Each task cleans one service in the given locations of a project:

- a **running** operation older than ``cancel_running_older_than`` is cancelled (something forgot it: a killed
  DAG, a notebook, a script);
- the record of a **finished** operation older than ``delete_done_older_than`` is deleted (it keeps nothing
  running: a delete only drops the record);
- whatever cannot be decided or done is skipped with a reason, never guessed at: Dialogflow has no delete verb
  and its operations carry no timestamps, so its task only reports.

Start with ``dry_run``: trigger it with ``-c '{"project_id": "my-project", "dry_run": true}'`` and read the
summary table in the task logs (also the task's XCom) before letting it act.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Param

from airflow_provider_gcp_ops.operators.housekeeping import OperationsHousekeepingOperator

# The same policy for every service of this project.
POLICY: dict[str, Any] = {
    "project_id": "{{ params.project_id }}",
    "cancel_running_older_than": timedelta(hours=12),
    "delete_done_older_than": timedelta(days=7),
    "dry_run": "{{ params.dry_run }}",  # rendered as "True"/"False", which the operator accepts
    "max_concurrency": 8,  # requests in flight; all of them paced under the project's quota (429s)
    "max_actions": 1000,  # per task and run: the oldest first, the rest waits for tomorrow
}

with DAG(
    dag_id="example_gcp_ops_housekeeping",
    schedule="@daily",
    start_date=datetime(2025, 1, 1),
    catchup=False,
    params={
        "project_id": Param("my-project", type="string"),
        "dry_run": Param(False, type="boolean", description="List and plan only; cancel and delete nothing."),
    },
    tags=["example", "gcp-ops"],
) as dag:
    # Dataproc: both regions/us-central1 (cluster operations) and locations/us-central1 (batch operations).
    OperationsHousekeepingOperator(task_id="dataproc", service="dataproc", locations=["us-central1"], **POLICY)
    OperationsHousekeepingOperator(task_id="datafusion", service="datafusion", locations=["europe-west1"], **POLICY)
    OperationsHousekeepingOperator(task_id="datalineage", service="datalineage", locations=["us"], **POLICY)
    # "global" means projects/{project} for Dialogflow ES.
    OperationsHousekeepingOperator(task_id="dialogflow", service="dialogflow", locations=["global"], **POLICY)

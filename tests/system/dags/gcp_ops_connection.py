"""A metastore connection with extras, used by a task that runs its own event loop and by a trigger.

Housekeeping (a dry run: it lists, it changes nothing) makes its calls in an event loop inside the task process;
the deferrable start resolves the same connection in the triggerer. The test creates the connection through the
REST API before the run (see ``test_connection_in_async_code.py``).
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG

from airflow_provider_gcp_ops.operators.housekeeping import OperationsHousekeepingOperator
from airflow_provider_gcp_ops.operators.start import StartOperationOperator

DAG_ID = "gcp_ops_sys_async_connection"
CONN_ID = "gcp_ops_sys_conn"

with DAG(DAG_ID, schedule=None, catchup=False, tags=["gcp-ops-system-test"], default_args={"retries": 0}):
    OperationsHousekeepingOperator(
        task_id="housekeeping",
        service="dataproc",
        parents=["projects/sys/regions/us-central1"],
        delete_done_older_than=timedelta(days=365),
        dry_run=True,
        gcp_conn_id=CONN_ID,
    )
    StartOperationOperator(
        task_id="start",
        path="v1/projects/sys/regions/us-central1/clusters",
        service="dataproc",
        # Not shorter: a trigger that fires before the scheduler has handled the deferral's executor event makes
        # Airflow 3.1 fail the task ("finished with state success, but the task instance's state attribute is
        # queued"), an Airflow race outside this case's subject.
        body={"clusterName": "conn", "emulator": {"service": "dataproc", "duration_s": 15}},
        poll_interval=1.0,
        deferrable=True,
        gcp_conn_id=CONN_ID,
    )

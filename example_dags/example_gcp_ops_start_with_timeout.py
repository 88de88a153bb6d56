"""Run a Dataproc workflow template and let ``execution_timeout`` cancel it if it runs too long.

``StartOperationOperator`` calls any Google REST method that returns a long-running operation (here
``workflowTemplates.instantiate``: it creates a cluster, runs the template's jobs, deletes the cluster), then
waits for that operation. The task *owns* the operation it started: when the task ends abnormally the operation
is cancelled, exactly once, and for a workflow that cancels its jobs and deletes its cluster. That covers
``execution_timeout`` in the worker and, with ``deferrable=True``, while deferred (where Airflow itself does not
enforce ``execution_timeout``: the operator hands the deadline to its trigger), and marking the task failed.

Run it with your project, region and template::

    airflow dags trigger example_gcp_ops_start_with_timeout \
        -c '{"project_id": "my-project", "region": "europe-west1", "template": "nightly-etl"}'

The demo (``make demo``) sets ``GCP_OPS_EXAMPLE_TIMEOUT_S=3``, so the timeout fires within seconds: the task
fails with ``AirflowTaskTimeout`` and the workflow's operation ends CANCELLED.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_provider_gcp_ops.operators.start import StartOperationOperator

# Two hours is plenty for this workflow; anything longer is a runaway worth stopping (and paying for no more).
TIMEOUT = timedelta(seconds=float(os.environ.get("GCP_OPS_EXAMPLE_TIMEOUT_S", "7200")))

with DAG(
    dag_id="example_gcp_ops_start_with_timeout",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    params={
        "project_id": Param("my-project", type="string"),
        "region": Param("europe-west1", type="string"),
        "template": Param("nightly-etl", type="string", description="A Dataproc workflow template id."),
    },
    tags=["example", "gcp-ops"],
) as dag:
    StartOperationOperator(
        task_id="run_workflow",
        service="dataproc",
        # POST https://{region}-dataproc.googleapis.com/v1/{template name}:instantiate
        path=(
            "v1/projects/{{ params.project_id }}/regions/{{ params.region }}"
            "/workflowTemplates/{{ params.template }}:instantiate"
        ),
        body={"parameters": {"RUN_DATE": "{{ ds }}"}},  # the template's declared parameters, if any
        execution_timeout=TIMEOUT,  # past this the workflow is cancelled and the task fails
        deferrable=True,  # wait in the triggerer: no worker slot held for hours; the deadline still holds
        cancel_on_kill=True,  # the default, spelled out: this task owns the workflow it started
        retries=0,  # a retry would start the workflow again
    )

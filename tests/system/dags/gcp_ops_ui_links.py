"""The browser test's DAG: a Dataproc cluster create that finishes, so its task has both extra links.

Parsed by the deployment's DAG processor next to the kill-path DAGs; only `test_ui_links.py` triggers it. The
operation is created by the task through the emulator's start-method route and succeeds after a few seconds.
"""

from __future__ import annotations

from airflow.sdk import DAG

from airflow_provider_gcp_ops.operators.start import StartOperationOperator

DAG_ID = "gcp_ops_ui_links"
PROJECT = "ui-links"
REGION = "europe-west1"
CLUSTER = "ui-links-cluster"

with DAG(DAG_ID, schedule=None, catchup=False, tags=["gcp-ops-system-test"], default_args={"retries": 0}):
    StartOperationOperator(
        task_id="create_cluster",
        path=f"v1/projects/{PROJECT}/regions/{REGION}/clusters",
        service="dataproc",
        body={
            "clusterName": CLUSTER,
            # the emulator does not read the body: it is told what Dataproc's ClusterOperationMetadata would say
            "emulator": {"service": "dataproc", "duration_s": 3, "metadata": {"clusterName": CLUSTER}},
        },
        deferrable=False,
        poll_interval=1.0,
    )

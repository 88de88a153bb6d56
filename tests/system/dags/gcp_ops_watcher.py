"""The event-driven watcher in a real deployment: every failed operation in one project starts a run.

``test_watcher.py`` makes operations fail at the emulator (project ``watcher-system``, which no other system DAG
uses) and checks the runs this DAG gets, their triggering asset events, and a triggerer restart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider_gcp_ops.triggers.watcher import OperationsWatcherTrigger

PROJECT = "watcher-system"
POLL_INTERVAL_S = 2.0

failures = Asset(
    "gcp_ops_sys_watcher_failures",
    watchers=[
        AssetWatcher(
            name="gcp_ops_sys_watcher",
            trigger=OperationsWatcherTrigger(
                service="dataproc",
                parents=[f"projects/{PROJECT}/regions/us-central1"],
                filter="status.state = DONE",
                conditions=["failed"],
                poll_interval=POLL_INTERVAL_S,
                max_calls_per_poll=5,
            ),
        )
    ],
)

with DAG(
    dag_id="gcp_ops_sys_watcher",
    schedule=[failures],
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=10,
) as dag:

    @task
    def handle(**context: Any) -> list[str]:
        return [event.extra["payload"]["dedup_key"] for event in context["triggering_asset_events"][failures]]

    handle()

"""Run a DAG whenever a Dataproc operation in a project fails or is cancelled: event-driven, no polling DAG.

An ``AssetWatcher`` runs ``OperationsWatcherTrigger`` in the triggerer. It lists the project's Dataproc
operations every minute (at most 10 list calls per minute, the server-side filter keeps only finished ones) and
emits one asset event per operation that fails or is cancelled; each event starts a run of this DAG. The event's
``extra["payload"]`` is the operation summary plus ``condition``, ``dedup_key`` and ``event_time``.

A watcher only reports operations that end after it started (``lookback=0``): a triggerer restart never repeats
an event, and an operation that ended while no triggerer ran is missed. With ``lookback=600`` events of the last
10 minutes before a restart fire again: de-duplicate on ``dedup_key`` (one key per operation and condition), e.g.
as the idempotency key of the ticket or page the task opens.

For "page me when a Vertex AI operation has run 6 hours", watch ``service="aiplatform"`` with
``conditions=["long_running"], long_running_after=timedelta(hours=6)`` and no filter.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider_gcp_ops.triggers.watcher import OperationsWatcherTrigger

PROJECT = os.environ.get("GCP_OPS_EXAMPLE_PROJECT", "my-project")

dataproc_failures = Asset(
    "gcp_ops_dataproc_failures",
    watchers=[
        AssetWatcher(
            name="dataproc_failures",
            trigger=OperationsWatcherTrigger(
                service="dataproc",
                project_id=PROJECT,
                locations=["us-central1", "europe-west1"],  # regions/{r} and locations/{r} collections of each
                filter="status.state = DONE",  # Dataproc's own filter syntax: only finished operations are listed
                conditions=["failed", "cancelled"],
                poll_interval=60,
                max_calls_per_poll=10,
            ),
        )
    ],
)

with DAG(
    dag_id="example_gcp_ops_on_operation_failure",
    schedule=[dataproc_failures],
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["example", "gcp-ops"],
) as dag:

    @task
    def clean_up(**context: Any) -> list[str]:
        # One run may carry several events (they queue while a run is being created): handle each once.
        handled = []
        for event in context["triggering_asset_events"][dataproc_failures]:
            payload = event.extra["payload"]
            operation = payload["operation"]
            print(
                f"{payload['condition']}: {operation['name']} ({operation['error_status']}: "
                f"{operation['error_message']}); de-duplicate on {payload['dedup_key']}"
            )
            handled.append(payload["dedup_key"])
        return handled

    clean_up()

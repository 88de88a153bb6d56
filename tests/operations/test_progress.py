"""``progress_of``: what an operation's metadata says about its progress, for each shape services send."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_gcp_ops.operations.model import Operation
from airflow_provider_gcp_ops.operations.progress import Progress, progress_of


def op(metadata: Any, done: bool = False) -> Operation:
    return Operation(name="projects/p/locations/l/operations/o", done=done, metadata=metadata)


@pytest.mark.parametrize(
    ("metadata", "percent"),
    [
        ({"progressPercent": 42}, 42.0),  # top level
        ({"progress": {"progressPercent": 37, "startTime": "2024-01-01T00:00:00Z"}}, 37.0),  # Spanner
        ({"progress": [{"progressPercent": 100}, {"progressPercent": 20}]}, 20.0),  # Spanner DDL: the last
        ({"genericMetadata": {}, "progressPercentage": "12.5"}, 12.5),  # Vertex AI, numeric string
        ({"progress_percentage": 99}, 99.0),
        ({"progressDocuments": {"completedWork": "25", "estimatedWork": "100"}}, 25.0),  # Firestore admin
        ({"progressPercent": 140}, 100.0),  # clamped
        ({"progressPercent": -3}, 0.0),
        ({"progressPercent": True}, None),  # not a number
        ({"progressPercent": "soon"}, None),
        ({"progressDocuments": {"completedWork": "1", "estimatedWork": "0"}}, None),
        ({}, None),
    ],
)
def test_percent(metadata: dict[str, Any], percent: float | None) -> None:
    assert progress_of(op(metadata)).percent == percent


def test_dataproc_cluster_state_and_history() -> None:
    md = {
        "status": {"state": "RUNNING", "innerState": "RUNNING", "stateStartTime": "2024-01-01T00:00:05Z"},
        "statusHistory": [{"state": "PENDING", "stateStartTime": "2024-01-01T00:00:00Z"}],
    }
    progress = progress_of(op(md))
    assert progress == Progress(percent=None, phase="RUNNING", detail="PENDING → RUNNING")
    assert progress.describe() == "RUNNING · PENDING → RUNNING"
    inner = progress_of(op({"status": {"state": "RUNNING", "innerState": "PENDING"}}))
    assert inner.phase == "RUNNING (PENDING)"


def test_dataproc_workflow_graph_and_plain_state() -> None:
    md = {
        "state": "RUNNING",
        "graph": {"nodes": [{"stepId": "a", "state": "COMPLETED"}, {"stepId": "b", "state": "RUNNING"}]},
    }
    assert progress_of(op(md)) == Progress(phase="RUNNING", detail="1/2 jobs completed")


def test_messages_are_one_short_line() -> None:
    long = "step " * 40
    progress = progress_of(op({"progressMessage": f"  copying\n{long}"}))
    assert progress.detail is not None and "\n" not in progress.detail and len(progress.detail) <= 80


def test_nothing_reported() -> None:
    for metadata in (None, {}, {"@type": "x", "createTime": "2024-01-01T00:00:00Z"}):
        progress = progress_of(op(metadata))
        assert not progress.reported and progress.describe() == ""

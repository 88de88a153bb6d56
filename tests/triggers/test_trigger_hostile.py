"""A trigger whose connection is unusable ends with its ``error`` event (naming the extra, quoting nothing),
never by dying without an event."""

from __future__ import annotations

import json

import pytest

from airflow_provider_gcp_ops.triggers.events import OperationEvent
from airflow_provider_gcp_ops.triggers.operation import OperationTrigger


@pytest.mark.parametrize(
    "extra",
    [
        {"keyfile_dict": "null"},
        {"credential_config_file": 5},
        {"quota_project_id": 5},
        {"emulator_host": "127.0.0.1:99999"},
        {"impersonation_chain": [["a@b.c"]]},
    ],
)
async def test_a_bad_connection_is_an_error_event(monkeypatch: pytest.MonkeyPatch, extra: dict[str, object]) -> None:
    monkeypatch.delenv("GCP_OPERATIONS_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_HOSTILE_GCP", json.dumps({"conn_type": "google_cloud_platform", "extra": extra}))
    trigger = OperationTrigger(
        operation_name="projects/p/regions/us-central1/operations/op",
        service="dataproc",
        api_version="v1",
        gcp_conn_id="hostile_gcp",
    )
    events = [e async for e in trigger.run()]
    assert len(events) == 1
    event = OperationEvent.from_payload(events[0].payload)
    assert event.status == "error"
    assert event.error_type == "CredentialsConfigError"
    assert next(iter(extra)) in event.message

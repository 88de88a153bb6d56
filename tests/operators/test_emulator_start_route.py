"""The emulator's start-method route (``emulator/methods.py``), and the create call's retry rule over real HTTP.

A create is not idempotent: these tests count, at the server, how many creates arrived and how many operations
exist, for the faults that must not be retried (503, reset) and those that may (429, or any fault once the
call carries a requestId).
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from airflow_provider_gcp_ops.emulator.methods import recorded_calls
from airflow_provider_gcp_ops.operations.errors import ConnectionFailed, InvalidArgument, Unauthenticated, Unavailable
from airflow_provider_gcp_ops.operations.methods import start_retry
from airflow_provider_gcp_ops.operations.model import OperationState
from airflow_provider_gcp_ops.operations.retry import RetryPolicy
from airflow_provider_gcp_ops.operations.sync_client import OperationsClient

CLUSTERS = "v1/projects/p/regions/us-central1/clusters"
BATCHES = "v1/projects/p/locations/us-central1/batches"
FAST = RetryPolicy(max_attempts=4, initial_backoff=0.01, max_backoff=0.02, deadline=10)


def _client(emu: Any, *, idempotent: bool = False) -> OperationsClient:
    return OperationsClient(emulator_host=emu.host, retry=start_retry(idempotent=idempotent, base=FAST))


def _starts(emu: Any) -> int:
    return int(emu.admin.stats()["requests"].get("start", 0))


def test_a_create_returns_a_running_operation_under_the_paths_parent(gcp_ops_emulator: Any) -> None:
    op = _client(gcp_ops_emulator).start("POST", CLUSTERS, service="dataproc", body={"clusterName": "c"})
    assert op.name.startswith("projects/p/regions/us-central1/operations/")
    assert op.state is OperationState.RUNNING
    [call] = recorded_calls(gcp_ops_emulator.state)
    assert call["body"] == {"clusterName": "c"}
    assert call["operation"] == op.name


def test_emulator_options_in_the_body_are_stripped_and_drive_the_operation(gcp_ops_emulator: Any) -> None:
    body = {
        "x": 1,
        "emulator": {"service": "dataproc", "duration_s": 0, "outcome": {"error": {"code": 9, "message": "no"}}},
    }
    op = _client(gcp_ops_emulator).start("POST", BATCHES, service="dataproc", body=body)
    assert op.state is OperationState.FAILED
    assert op.error is not None
    assert (op.error.code, op.error.message) == (9, "no")
    assert recorded_calls(gcp_ops_emulator.state)[0]["body"] == {"x": 1}


def test_a_path_several_services_fit_needs_the_service_named(gcp_ops_emulator: Any) -> None:
    with pytest.raises(InvalidArgument, match="fits several services"):
        _client(gcp_ops_emulator).start("POST", BATCHES, service="dataproc", body={})


def test_a_custom_verb_path_creates_under_the_parent(gcp_ops_emulator: Any) -> None:
    op = _client(gcp_ops_emulator).start("POST", "v1/projects/p/instances/i/databases:restore", service="spanner")
    assert op.name.startswith("projects/p/instances/i/operations/")


def test_auth_is_required_like_on_the_operations_routes(gcp_ops_emulator: Any) -> None:
    response = requests.post(f"{gcp_ops_emulator.url}/{CLUSTERS}", json={}, timeout=5)
    assert response.status_code == 401
    with pytest.raises(Unauthenticated):
        OperationsClient(emulator_host=gcp_ops_emulator.host, session=requests.Session(), retry=FAST).start(
            "POST", CLUSTERS, service="dataproc"
        )


@pytest.mark.parametrize("kind", ["503", "reset"])
def test_an_ambiguous_failure_is_not_retried(gcp_ops_emulator: Any, kind: str) -> None:
    gcp_ops_emulator.admin.set_faults([{"route": "*", "kind": kind, "match": "/clusters", "count": 1}])
    with pytest.raises((Unavailable, ConnectionFailed)):
        _client(gcp_ops_emulator).start("POST", CLUSTERS, service="dataproc", body={})
    assert _starts(gcp_ops_emulator) == 1


def test_a_429_is_retried_and_creates_one_operation(gcp_ops_emulator: Any) -> None:
    gcp_ops_emulator.admin.set_faults(
        [{"route": "*", "kind": "429", "match": "/clusters", "count": 1, "retry_after_s": 0}]
    )
    op = _client(gcp_ops_emulator).start("POST", CLUSTERS, service="dataproc", body={})
    assert _starts(gcp_ops_emulator) == 2
    assert [c["operation"] for c in recorded_calls(gcp_ops_emulator.state)] == [op.name]


def test_with_a_request_id_a_503_is_retried_and_deduplicated(gcp_ops_emulator: Any) -> None:
    gcp_ops_emulator.admin.set_faults([{"route": "*", "kind": "503", "match": "/clusters", "count": 1}])
    client = _client(gcp_ops_emulator, idempotent=True)
    op = client.start("POST", CLUSTERS, service="dataproc", body={}, query={"requestId": "r-1"})
    again = client.start("POST", CLUSTERS, service="dataproc", body={}, query={"requestId": "r-1"})
    assert again.name == op.name
    assert _starts(gcp_ops_emulator) == 3
    assert gcp_ops_emulator.admin.stats()["operations_created"] == 1

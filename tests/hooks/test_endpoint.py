"""The connection's ``endpoint`` extra reaches every request, also listings whose collection an operator resolved
before the client existed (ListOperationsOperator, housekeeping validate parents first)."""

from __future__ import annotations

import json

import pytest

from airflow_provider_gcp_ops.hooks.operations import GoogleOperationsHook
from airflow_provider_gcp_ops.operations.names import resolve_collection, resolve_operation
from airflow_provider_gcp_ops.operations.sync_client import OperationsClient

PRIVATE = "dataproc-private.corp.example:8443"


def test_refs_resolved_without_the_endpoint_are_sent_to_it() -> None:
    coll = resolve_collection("projects/p/regions/us-central1", service="dataproc")
    op = resolve_operation("projects/p/regions/us-central1/operations/a", service="dataproc")
    assert coll.host == op.host == "us-central1-dataproc.googleapis.com"  # the public host, as the operator saw it
    with OperationsClient(endpoint=PRIVATE, emulator_host="127.0.0.1:1") as client:
        assert next(client.list_plan(coll)).request.host == PRIVATE
        assert next(client.cancel_plan(op)).request.host == PRIVATE
        assert next(client.delete_plan(op)).request.host == PRIVATE
        assert next(client.get_plan(op)).request.host == PRIVATE
    with OperationsClient(emulator_host="127.0.0.1:1") as client:  # no endpoint: the ref's own host stands
        assert next(client.list_plan(coll)).request.host == "us-central1-dataproc.googleapis.com"


def test_the_connections_endpoint_extra_applies_to_listings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GCP_OPERATIONS_EMULATOR_HOST", raising=False)
    extra = {"endpoint": PRIVATE, "emulator_host": "127.0.0.1:1"}
    monkeypatch.setenv("AIRFLOW_CONN_PRIVATE_GCP", json.dumps({"conn_type": "google_cloud_operations", "extra": extra}))
    client = GoogleOperationsHook(gcp_conn_id="private_gcp").get_conn()
    coll = resolve_collection("projects/p/regions/us-central1", service="dataproc")
    assert next(client.list_plan(coll)).request.host == PRIVATE

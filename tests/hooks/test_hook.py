"""GoogleOperationsHook over real HTTP: connections from the environment (JSON and URI), sync and async."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote

import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer
from airflow_provider_gcp_ops.hooks.operations import GoogleOperationsHook
from airflow_provider_gcp_ops.operations.errors import NotFound
from airflow_provider_gcp_ops.operations.model import OperationState

from .keys import key_secret_fragments, service_account_info


def _json_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, extra: dict[str, Any]) -> None:
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "google_cloud_platform", "extra": extra})
    )


@pytest.fixture(autouse=True)
def _no_env_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GCP_OPERATIONS_EMULATOR_HOST", raising=False)


def test_sync_verbs_through_a_json_connection(
    monkeypatch: pytest.MonkeyPatch, gcp_ops_emulator: EmulatorServer
) -> None:
    _json_conn(monkeypatch, "google_cloud_default", {"emulator_host": gcp_ops_emulator.host})
    created = gcp_ops_emulator.admin.create_operation(service="dataproc", duration_s=600, cancel_delay_s=0.05)
    hook = GoogleOperationsHook()
    assert hook.get_operation(created["name"], service="dataproc").state is OperationState.RUNNING
    parent = created["name"].rsplit("/operations/", 1)[0]
    assert [op.name for op in hook.list_operations(parent, service="dataproc")] == [created["name"]]
    hook.cancel_operation(created["name"], service="dataproc")
    assert hook.wait_for_operation(created["name"], service="dataproc", timeout=10).state is OperationState.CANCELLED
    hook.delete_operation(created["name"], service="dataproc")
    with pytest.raises(NotFound):
        hook.get_operation(created["name"], service="dataproc")


def test_uri_connection_with_string_extras(monkeypatch: pytest.MonkeyPatch, gcp_ops_emulator: EmulatorServer) -> None:
    uri = f"google-cloud-platform://?emulator_host={quote(gcp_ops_emulator.host)}&num_retries=0"
    monkeypatch.setenv("AIRFLOW_CONN_MY_GCP", uri)
    gcp_ops_emulator.admin.set_faults([{"route": "get", "kind": "503", "probability": 1.0}])
    created = gcp_ops_emulator.admin.create_operation(service="datafusion", duration_s=600)
    hook = GoogleOperationsHook(gcp_conn_id="my_gcp")
    with pytest.raises(Exception, match="UNAVAILABLE"):
        hook.get_operation(created["name"], service="datafusion")
    # num_retries=0 (a string in a URI) means exactly one attempt
    assert gcp_ops_emulator.admin.stats()["operations"][created["name"]]["get"] == 1


def test_env_var_points_the_hook_at_the_emulator(
    monkeypatch: pytest.MonkeyPatch, gcp_ops_emulator: EmulatorServer
) -> None:
    monkeypatch.setenv("GCP_OPERATIONS_EMULATOR_HOST", gcp_ops_emulator.host)
    _json_conn(monkeypatch, "google_cloud_default", {})
    created = gcp_ops_emulator.admin.create_operation(service="spanner", duration_s=0)
    assert GoogleOperationsHook().get_operation(created["name"], service="spanner").done


def test_a_missing_non_default_connection_is_an_error() -> None:
    from airflow_provider_gcp_ops._compat import AirflowNotFoundException

    with pytest.raises(AirflowNotFoundException):
        GoogleOperationsHook(gcp_conn_id="does_not_exist").get_settings()


async def test_async_twins_resolve_the_connection_without_blocking(
    monkeypatch: pytest.MonkeyPatch, gcp_ops_emulator: EmulatorServer
) -> None:
    _json_conn(monkeypatch, "google_cloud_default", {"emulator_host": gcp_ops_emulator.host})
    running = gcp_ops_emulator.admin.create_operation(service="aiplatform", duration_s=600)
    short = gcp_ops_emulator.admin.create_operation(service="aiplatform", duration_s=0.3)
    hook = GoogleOperationsHook()
    assert (await hook.aget_operation(running["name"], service="aiplatform")).state is OperationState.RUNNING
    done = await hook.await_for_operation(short["name"], service="aiplatform", timeout=10)
    assert done.state is OperationState.SUCCEEDED
    parent = running["name"].rsplit("/operations/", 1)[0]
    listed = [op.name for op in await hook.alist_operations(parent, service="aiplatform")]
    assert listed == [running["name"], short["name"]]


def test_no_key_material_in_logs_or_errors(
    monkeypatch: pytest.MonkeyPatch, gcp_ops_emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    # A real key in the connection, a call that fails: nothing of the key may show in any log line or error.
    caplog.set_level(logging.DEBUG)
    _json_conn(
        monkeypatch,
        "keyed",
        {"keyfile_dict": json.dumps(service_account_info()), "emulator_host": gcp_ops_emulator.host},
    )
    hook = GoogleOperationsHook(gcp_conn_id="keyed")
    with pytest.raises(NotFound) as info:
        hook.get_operation("projects/p/regions/us-central1/operations/missing", service="dataproc")
    texts = caplog.text + str(info.value) + repr(info.value) + repr(hook.get_settings())
    for fragment in key_secret_fragments():
        assert fragment not in texts


# -- a key whose tokens come from the emulator's token endpoint -----------------------------------------------


@pytest.mark.parametrize("how", ["sync", "async"])
async def test_a_key_issued_by_the_emulator_is_used_with_it(
    monkeypatch: pytest.MonkeyPatch, gcp_ops_emulator: EmulatorServer, how: str
) -> None:
    from airflow_provider_gcp_ops.emulator.oauth import service_account_key

    monkeypatch.setenv("GCP_OPERATIONS_EMULATOR_HOST", gcp_ops_emulator.host)
    _json_conn(monkeypatch, "google_cloud_default", {"keyfile_dict": service_account_key(gcp_ops_emulator.url)})
    created = gcp_ops_emulator.admin.create_operation(service="spanner", duration_s=0)
    hook = GoogleOperationsHook()
    op = hook.get_operation(created["name"], service="spanner") if how == "sync" else None
    if how == "async":
        op = await hook.aget_operation(created["name"], service="spanner")
    assert op is not None and op.done
    assert gcp_ops_emulator.admin.stats()["requests"]["token"] == 1  # google-auth's refresh ran against it


def test_a_key_issued_by_google_is_never_used_with_the_emulator(
    monkeypatch: pytest.MonkeyPatch, gcp_ops_emulator: EmulatorServer
) -> None:
    """A real key's token would be sent in clear to a local server: the emulator's static token is used instead."""
    monkeypatch.setenv("GCP_OPERATIONS_EMULATOR_HOST", gcp_ops_emulator.host)
    _json_conn(monkeypatch, "google_cloud_default", {"keyfile_dict": service_account_info()})
    created = gcp_ops_emulator.admin.create_operation(service="spanner", duration_s=0)
    assert GoogleOperationsHook().get_operation(created["name"], service="spanner").done
    assert gcp_ops_emulator.admin.stats()["requests"].get("token", 0) == 0

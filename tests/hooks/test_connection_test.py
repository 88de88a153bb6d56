"""The connection form's Test button (``test_connection``) against the emulator, and typed refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer
from airflow_provider_gcp_ops.hooks.credentials import UnsupportedCredentialExtraError
from airflow_provider_gcp_ops.hooks.operations import GoogleOperationsHook


def _conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, extra: dict[str, Any]) -> GoogleOperationsHook:
    monkeypatch.delenv("GCP_OPERATIONS_EMULATOR_HOST", raising=False)
    conn = {"conn_type": "google_cloud_operations", "extra": extra}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return GoogleOperationsHook(gcp_conn_id=conn_id)


def test_the_test_button_passes_against_the_emulator(
    monkeypatch: pytest.MonkeyPatch, gcp_ops_emulator: EmulatorServer
) -> None:
    hook = _conn(monkeypatch, "ui_test", {"emulator_host": gcp_ops_emulator.host, "project": "demo-project"})
    ok, message = hook.test_connection()
    assert ok, message
    assert gcp_ops_emulator.host in message
    assert gcp_ops_emulator.admin.stats()["requests"]["get"] == 1  # one probe request reached the server


def test_the_test_button_reports_a_server_that_fails(
    monkeypatch: pytest.MonkeyPatch, gcp_ops_emulator: EmulatorServer
) -> None:
    gcp_ops_emulator.admin.set_faults([{"route": "get", "kind": "503", "probability": 1.0}])
    hook = _conn(monkeypatch, "ui_test", {"emulator_host": gcp_ops_emulator.host, "num_retries": 0})
    ok, message = hook.test_connection()
    assert not ok
    assert "UNAVAILABLE" in message


def test_the_test_button_names_an_unsupported_extra_without_a_request(
    monkeypatch: pytest.MonkeyPatch, gcp_ops_emulator: EmulatorServer
) -> None:
    extra = {"emulator_host": gcp_ops_emulator.host, "key_secret_name": "my-sa-key"}
    hook = _conn(monkeypatch, "ui_test", extra)
    ok, message = hook.test_connection()
    assert not ok
    assert "UnsupportedCredentialExtraError" in message and "'key_secret_name'" in message
    assert "my-sa-key" not in message
    with pytest.raises(UnsupportedCredentialExtraError):
        hook.get_operation("projects/p/regions/us-central1/operations/a", service="dataproc")
    assert gcp_ops_emulator.admin.stats()["requests_total"] == 0


def test_the_project_extra_is_the_hooks_default_project(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _conn(monkeypatch, "with_project", {"project": "from-conn"}).project_id == "from-conn"
    assert _conn(monkeypatch, "without_project", {}).project_id is None


def test_the_ui_behaviour_and_widgets_come_from_one_table() -> None:
    from airflow_provider_gcp_ops import connection_form

    behaviour = GoogleOperationsHook.get_ui_field_behaviour()
    assert behaviour == connection_form.UI_FIELD_BEHAVIOUR
    behaviour["hidden_fields"].append("extra")  # a copy: the table stays as it was
    assert "extra" not in connection_form.UI_FIELD_BEHAVIOUR["hidden_fields"]
    pytest.importorskip("wtforms", reason="Airflow >= 3.2 reads the form from the provider info, not wtforms")
    assert set(GoogleOperationsHook.get_connection_form_widgets()) == set(connection_form.FIELDS)

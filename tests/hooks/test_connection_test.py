"""The connection form's Test button (``test_connection``) against the emulator, and typed refusals."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer
from airflow_provider_gcp_ops.hooks.credentials import UnsupportedCredentialExtraError
from airflow_provider_gcp_ops.hooks.operations import GoogleOperationsHook

from .keys import key_secret_fragments, service_account_info


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


# -- with Google's hosts: the Test button is a real google-auth token refresh (against a local token endpoint) --
@pytest.fixture
def token_endpoint() -> Iterator[tuple[str, list[int]]]:
    """A local OAuth token endpoint (the one part of Google we cannot run); answers with the next status."""
    statuses: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = statuses.pop(0) if statuses else 200
            body = {"access_token": "tok", "expires_in": 3600} if status == 200 else {"error": "invalid_grant"}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/token", statuses
    finally:
        server.shutdown()
        server.server_close()


def _keyed(monkeypatch: pytest.MonkeyPatch, token_uri: str) -> GoogleOperationsHook:
    key = {**service_account_info(), "token_uri": token_uri}
    return _conn(monkeypatch, "keyed_ui_test", {"keyfile_dict": json.dumps(key), "project": "p"})


def test_the_test_button_obtains_a_token_for_the_service_account(
    monkeypatch: pytest.MonkeyPatch, token_endpoint: tuple[str, list[int]]
) -> None:
    ok, message = _keyed(monkeypatch, token_endpoint[0]).test_connection()
    assert ok, message
    assert service_account_info()["client_email"] in message


def test_the_test_button_reports_a_refused_key_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, token_endpoint: tuple[str, list[int]]
) -> None:
    token_endpoint[1].extend([400, 400, 400])
    ok, message = _keyed(monkeypatch, token_endpoint[0]).test_connection()
    assert not ok
    assert "RefreshError" in message and "invalid_grant" in message
    for fragment in key_secret_fragments():
        assert fragment not in message

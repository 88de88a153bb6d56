"""Airflow's own UI and REST API show what the provider ships: a finished Dataproc task's extra links, opened in
a real headless Chromium, and a connection's Test button (``POST /api/v2/connections/test``) against the emulator.

Runs in the system suite's deployment (``conftest.py``; ``[core] test_connection = Enabled`` there), after the
kill-path cases (file order). The DAG is ``dags/gcp_ops_ui_links.py``. The screenshot of the task's page is kept
at ``tests/system/artifacts/ui_links.png`` (git-ignored).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer
from airflow_provider_gcp_ops.operations.sync_client import OperationsClient

from .browser import Browser, chromium
from .harness import Api, Deployment, wait_for

pytestmark = [pytest.mark.system, pytest.mark.timeout(600)]

DAG_ID, TASK_ID, PROJECT, REGION = "gcp_ops_ui_links", "create_cluster", "ui-links", "europe-west1"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CONSOLE = "https://console.cloud.google.com"


@pytest.fixture(scope="module")
def finished(api: Api) -> dict[str, str]:
    """Run the DAG once; its task creates a Dataproc cluster operation that succeeds after 3 s."""
    api.wait_for_dags({DAG_ID}, timeout=180)
    run_id = api.trigger(DAG_ID)
    api.wait_state(DAG_ID, run_id, TASK_ID, {"success", "failed"}, timeout=180)
    assert api.state(DAG_ID, run_id, TASK_ID) == "success"
    return {"run_id": run_id, "operation": str(api.xcom(DAG_ID, run_id, TASK_ID, "operation_name"))}


def _expected(emu: EmulatorServer, operation: str) -> dict[str, str]:
    """The two URLs, built here from Google's URL forms and the operation as the emulator reports it."""
    with OperationsClient(emulator_host=emu.host) as client:
        metadata = client.get(operation, service="dataproc").metadata
    assert metadata is not None and metadata["clusterName"] == "ui-links-cluster"
    cluster = metadata["clusterName"]
    op_id = operation.rsplit("/", 1)[1]
    return {
        "Operation logs": f"{CONSOLE}/logs/query;query=operation.id%3A%22{op_id}%22?project={PROJECT}",
        "Target resource": f"{CONSOLE}/dataproc/clusters/{cluster}/monitoring?region={REGION}&project={PROJECT}",
    }


def test_the_rest_api_lists_both_links(api: Api, finished: dict[str, str], system_emulator: EmulatorServer) -> None:
    # The task runner reports the terminal state first and stores the links' XComs after it (``run()`` then
    # ``finalize()`` in airflow/sdk/execution_time/task_runner.py): a link read right after "success" may not be
    # there yet, so wait until both are stored, then compare.
    path = f"/api/v2/dags/{DAG_ID}/dagRuns/{finished['run_id']}/taskInstances/{TASK_ID}/links"

    def both_links() -> Any:
        links = api.call("GET", path)["extra_links"]
        return links if len(links) == 2 and all(links.values()) else None

    links = wait_for("both extra links stored", both_links, timeout=60, interval=0.5)
    assert links == _expected(system_emulator, finished["operation"])


@pytest.mark.skipif(
    chromium() is None, reason="chromium missing: scripts/ensure_chromium.sh (make test-system runs it)"
)
def test_the_ui_shows_both_links_in_a_real_browser(
    api: Api, deployment: Deployment, finished: dict[str, str], system_emulator: EmulatorServer
) -> None:
    expected = _expected(system_emulator, finished["operation"])
    # "Extra Links" are on the task instance's Details tab
    page = f"{deployment.url}/dags/{DAG_ID}/runs/{quote(finished['run_id'], safe='')}/tasks/{TASK_ID}/details"
    shown: Any = None
    with Browser() as browser:
        browser.set_cookie("_token", api.token(), deployment.url)  # the UI's own session cookie (simple auth)
        browser.open(page)
        script = (
            "Array.from(document.querySelectorAll('a[href^=\"https://console.cloud.google.com\"]'))"
            ".map(a => [a.textContent.trim(), a.getAttribute('href')])"
        )

        def both_links() -> Any:
            found = browser.evaluate(script) or []
            return found if len(found) >= 2 else None

        try:
            shown = wait_for("both extra links on the task's page", both_links, timeout=90, interval=1)
        finally:
            shot = browser.screenshot(ARTIFACTS / "ui_links.png")
            print(f"\nscreenshot: {shot}")
    assert dict(shown) == expected


def _test_connection(api: Api, extra: dict[str, Any]) -> dict[str, Any]:
    body = {"connection_id": "gcp_ops_ui_test", "conn_type": "google_cloud_operations", "extra": json.dumps(extra)}
    result: dict[str, Any] = api.call("POST", "/api/v2/connections/test", json=body)
    return result


def test_the_connection_test_button_reaches_the_emulator(api: Api, system_emulator: EmulatorServer) -> None:
    # The probe's own GET, counted by name: other cases' triggers may still poll the emulator meanwhile.
    probe = f"projects/{PROJECT}/locations/global/operations/airflow-connection-test"

    def probe_gets() -> int:
        return int(system_emulator.admin.stats()["operations"].get(probe, {}).get("get", 0))

    before = probe_gets()
    result = _test_connection(api, {"project": PROJECT})
    assert result["status"] is True, result
    assert system_emulator.host in result["message"]
    assert probe_gets() == before + 1


def test_the_connection_test_button_names_an_unsupported_extra(api: Api) -> None:
    result = _test_connection(api, {"key_secret_name": "secret-name-value"})
    assert result["status"] is False
    assert "key_secret_name" in result["message"] and "secret-name-value" not in result["message"]

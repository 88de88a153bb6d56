"""CancelOperation: every cancel behaviour, cancel bodies, and what the metadata says."""

from __future__ import annotations

import httpx
import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer
from airflow_provider_gcp_ops.operations.services import Verb, get_service, services

from .conftest import assert_google_error, poll_until

WITH_CANCEL = sorted(
    s.key
    for s in services()
    if s.supports(Verb.CANCEL)
    and s.key in {"dataproc", "datafusion", "dialogflow", "datalineage", "aiplatform", "spanner", "alloydb"}
)


def url(service: str, name: str, suffix: str = "") -> str:
    return f"/{get_service(service).default_version}/{name}{suffix}"


def cancel(client: httpx.Client, service: str, name: str) -> httpx.Response:
    spec = get_service(service)
    if spec.cancel_body is None:
        return client.post(url(service, name, ":cancel"))
    return client.post(url(service, name, ":cancel"), json=dict(spec.cancel_body))


@pytest.mark.parametrize("service", WITH_CANCEL)
def test_cancellable_ends_cancelled_after_the_delay(emu: EmulatorServer, client: httpx.Client, service: str) -> None:
    emu.admin.configure(time_scale=10)
    created = emu.admin.create_operation(service=service, duration_s=600, cancel_delay_s=0.5)  # 50 ms real
    response = cancel(client, service, created["name"])
    assert response.status_code == 200
    assert response.json() == {}
    body = poll_until(lambda: (b := client.get(url(service, created["name"])).json()).get("done") and b)
    assert body["error"] == {"code": 1, "message": "Operation was cancelled."}
    assert "response" not in body
    assert emu.admin.history(created["name"])["state"] == "CANCELLED"


def test_cancel_is_not_immediate(emu: EmulatorServer, client: httpx.Client) -> None:
    created = emu.admin.create_operation(service="alloydb", duration_s=600, cancel_delay_s=600)
    assert cancel(client, "alloydb", created["name"]).status_code == 200
    body = client.get(url("alloydb", created["name"])).json()
    assert "done" not in body  # a 200 {} from cancel proves nothing yet
    assert body["metadata"]["requestedCancellation"] is True


def test_spanner_records_cancel_time(emu: EmulatorServer, client: httpx.Client) -> None:
    created = emu.admin.create_operation(service="spanner", duration_s=600, cancel_delay_s=0)
    assert cancel(client, "spanner", created["name"]).status_code == 200
    body = client.get(url("spanner", created["name"])).json()
    assert body["done"] is True
    assert body["error"]["code"] == 1
    assert {"cancelTime", "endTime", "startTime"} <= set(body["metadata"])


def test_ignored_cancel_answers_200_and_the_operation_succeeds(emu: EmulatorServer, client: httpx.Client) -> None:
    emu.admin.configure(time_scale=100)
    created = emu.admin.create_operation(service="datafusion", duration_s=10, cancel="ignored", cancel_delay_s=0)
    assert cancel(client, "datafusion", created["name"]).status_code == 200
    body = poll_until(lambda: (b := client.get(url("datafusion", created["name"])).json()).get("done") and b)
    assert "error" not in body
    assert body["response"]
    assert body["metadata"]["requestedCancellation"] is True


def test_unimplemented_cancel_is_501(emu: EmulatorServer, client: httpx.Client) -> None:
    created = emu.admin.create_operation(service="dataproc", duration_s=600, cancel="unimplemented")
    assert_google_error(cancel(client, "dataproc", created["name"]), 501, "UNIMPLEMENTED")
    assert "done" not in client.get(url("dataproc", created["name"])).json()


@pytest.mark.parametrize("service", ["run", "composer"])
def test_cancel_where_the_service_has_none_is_501(emu: EmulatorServer, client: httpx.Client, service: str) -> None:
    created = emu.admin.create_operation(service=service, duration_s=600)
    assert_google_error(client.post(url(service, created["name"], ":cancel")), 501, "UNIMPLEMENTED")
    assert_google_error(client.post(url(service, created["name"], ":cancel"), json={}), 501, "UNIMPLEMENTED")


def test_cancel_after_done_is_200_and_changes_nothing(emu: EmulatorServer, client: httpx.Client) -> None:
    created = emu.admin.create_operation(service="alloydb", duration_s=0)
    before = client.get(url("alloydb", created["name"])).json()
    assert cancel(client, "alloydb", created["name"]).status_code == 200
    after = client.get(url("alloydb", created["name"])).json()
    assert after == before
    assert "response" in after


def test_operation_that_finishes_before_the_cancel_lands_succeeds(emu: EmulatorServer, client: httpx.Client) -> None:
    emu.admin.configure(time_scale=100)
    created = emu.admin.create_operation(service="dataproc", duration_s=5, cancel_delay_s=60)
    assert cancel(client, "dataproc", created["name"]).status_code == 200
    body = poll_until(lambda: (b := client.get(url("dataproc", created["name"])).json()).get("done") and b)
    assert "response" in body


@pytest.mark.parametrize("body", [b"", b"{}", b"  "])
@pytest.mark.parametrize("service", ["dataproc", "alloydb"])  # cancel_body None and {}
def test_cancel_bodies_accepted(emu: EmulatorServer, client: httpx.Client, service: str, body: bytes) -> None:
    created = emu.admin.create_operation(service=service, duration_s=600)
    headers = {"content-type": "application/json"} if body.strip() else {}
    response = client.post(url(service, created["name"], ":cancel"), content=body, headers=headers)
    assert response.status_code == 200


@pytest.mark.parametrize("body", [b"{bad", b"[]", b'{"name": "x"}', b'"text"'])
def test_cancel_bodies_rejected(emu: EmulatorServer, client: httpx.Client, body: bytes) -> None:
    created = emu.admin.create_operation(service="alloydb", duration_s=600)
    response = client.post(url("alloydb", created["name"], ":cancel"), content=body)
    assert_google_error(response, 400, "INVALID_ARGUMENT")


def test_cancel_unknown_operation_is_404(client: httpx.Client) -> None:
    assert_google_error(client.post("/v1/projects/p/regions/r/operations/nope:cancel"), 404, "NOT_FOUND")


def test_each_cancel_is_counted_once(emu: EmulatorServer, client: httpx.Client) -> None:
    a = emu.admin.create_operation(service="dataproc", duration_s=600, cancel_delay_s=600)["name"]
    b = emu.admin.create_operation(service="dataproc", duration_s=600, cancel_delay_s=600)["name"]
    cancel(client, "dataproc", a)
    cancel(client, "dataproc", b)
    cancel(client, "dataproc", b)
    stats = emu.admin.stats()
    assert stats["cancels"] == {"total": 3, "by_operation": {a: 1, b: 2}}
    assert stats["operations"][a] == {"cancel": 1}
    assert stats["requests"]["cancel"] == 3

"""Fault injection: every kind, seeded determinism, count / route / match, counters and history."""

from __future__ import annotations

import time

import httpx
import pytest
import requests

from airflow_provider_gcp_ops.emulator import EmulatorServer

from .conftest import TOKEN, assert_google_error, poll_until


@pytest.fixture
def op_url(emu: EmulatorServer) -> str:
    return "/v1/" + emu.admin.create_operation(service="dataproc", duration_s=600)["name"]


def test_429_has_retry_after_retry_info_and_error_info(emu: EmulatorServer, client: httpx.Client, op_url: str) -> None:
    emu.admin.set_faults([{"route": "get", "kind": "429", "retry_after_s": 2}])
    response = client.get(op_url)
    error = assert_google_error(response, 429, "RESOURCE_EXHAUSTED")
    assert response.headers["retry-after"] == "2"
    by_type = {d["@type"]: d for d in error["details"]}
    assert by_type["type.googleapis.com/google.rpc.RetryInfo"]["retryDelay"] == "2s"
    info = by_type["type.googleapis.com/google.rpc.ErrorInfo"]
    assert info["reason"] == "RATE_LIMIT_EXCEEDED"
    assert info["domain"] == "googleapis.com"


def test_fractional_retry_after_rounds_up_in_the_header(emu: EmulatorServer, client: httpx.Client, op_url: str) -> None:
    emu.admin.set_faults([{"route": "get", "kind": 429, "retry_after_s": 0.5}])
    response = client.get(op_url)
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"]["details"][1]["retryDelay"] == "0.5s"


@pytest.mark.parametrize(("kind", "status", "rpc"), [("500", 500, "INTERNAL"), ("503", 503, "UNAVAILABLE")])
def test_json_server_errors(
    emu: EmulatorServer, client: httpx.Client, op_url: str, kind: str, status: int, rpc: str
) -> None:
    emu.admin.set_faults([{"route": "*", "kind": kind}])
    assert_google_error(client.get(op_url), status, rpc)
    assert_google_error(client.post(op_url + ":cancel"), status, rpc)


def test_502_is_an_html_page(emu: EmulatorServer, client: httpx.Client, op_url: str) -> None:
    emu.admin.set_faults([{"route": "get", "kind": "502"}])
    response = client.get(op_url)
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text
    assert "502." in response.text


def test_reset_is_a_connection_error_for_httpx(emu: EmulatorServer, client: httpx.Client, op_url: str) -> None:
    emu.admin.set_faults([{"route": "get", "kind": "reset", "count": 1}])
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        client.get(op_url)
    assert client.get(op_url).status_code == 200  # the server lives on, a new connection works
    stats = emu.admin.stats()
    assert stats["faults"]["reset"] == 1
    assert stats["responses"] == {"200": 1}
    assert emu.admin.history(op_url[4:])["requests"][0] == {
        "verb": "get",
        "status": None,
        "t": pytest.approx(0, abs=5),
        "fault": "reset",
        "client": client.headers["user-agent"],
    }


def test_reset_is_a_connection_error_for_requests(emu: EmulatorServer, op_url: str) -> None:
    emu.admin.set_faults([{"route": "get", "kind": "reset", "count": 1}])
    with requests.Session() as session:
        session.trust_env = False
        with pytest.raises(requests.ConnectionError):
            session.get(emu.url + op_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)


def test_latency_delays_then_serves(emu: EmulatorServer, client: httpx.Client, op_url: str) -> None:
    emu.admin.set_faults([{"route": "get", "kind": "latency", "latency_s": 0.3}])
    t0 = time.monotonic()
    assert client.get(op_url).status_code == 200
    assert time.monotonic() - t0 >= 0.28


def test_stall_outlasts_the_client_timeout(emu: EmulatorServer, client: httpx.Client, op_url: str) -> None:
    emu.admin.set_faults([{"route": "get", "kind": "stall", "stall_s": 0.8, "count": 1}])
    with pytest.raises(httpx.ReadTimeout):
        client.get(op_url, timeout=0.2)
    assert emu.admin.stats()["in_flight"] == 1
    poll_until(lambda: emu.admin.stats()["in_flight"] == 0)  # the stalled request finishes server-side


def test_count_limits_injections(emu: EmulatorServer, client: httpx.Client, op_url: str) -> None:
    emu.admin.set_faults([{"route": "get", "kind": "503", "count": 2}])
    assert [client.get(op_url).status_code for _ in range(4)] == [503, 503, 200, 200]
    faults = emu.admin.faults()
    assert faults["rules"][0]["injected"] == 2


def test_route_and_match_select_requests(emu: EmulatorServer, client: httpx.Client) -> None:
    a = emu.admin.create_operation(service="dataproc", operation_id="aaa-1", duration_s=600)["name"]
    b = emu.admin.create_operation(service="dataproc", operation_id="bbb-2", duration_s=600)["name"]
    emu.admin.set_faults([{"route": "get", "kind": "500", "match": "aaa"}, {"route": "list", "kind": "503"}])
    assert client.get(f"/v1/{a}").status_code == 500
    assert client.get(f"/v1/{b}").status_code == 200
    assert client.post(f"/v1/{a}:cancel").status_code == 200
    assert client.get("/v1/projects/demo-project/regions/us-central1/operations").status_code == 503


def fault_sequence(emu: EmulatorServer, client: httpx.Client, op_url: str, seed: int) -> list[int]:
    emu.admin.set_faults(
        [{"route": "get", "kind": "503", "probability": 0.3}, {"route": "get", "kind": "429", "probability": 0.3}],
        seed=seed,
    )
    return [client.get(op_url).status_code for _ in range(40)]


def test_same_seed_same_faults(emu: EmulatorServer, client: httpx.Client, op_url: str) -> None:
    first = fault_sequence(emu, client, op_url, seed=42)
    again = fault_sequence(emu, client, op_url, seed=42)
    other = fault_sequence(emu, client, op_url, seed=43)
    assert first == again
    assert first != other
    assert {200, 429, 503} <= set(first)


def test_faults_counted_per_kind_and_cleared(emu: EmulatorServer, client: httpx.Client, op_url: str) -> None:
    emu.admin.set_faults([{"route": "get", "kind": "500", "count": 1}, {"route": "get", "kind": "503", "count": 2}])
    codes = [client.get(op_url).status_code for _ in range(4)]
    assert codes == [500, 503, 503, 200]
    stats = emu.admin.stats()
    assert stats["faults"] == {"total": 3, "500": 1, "503": 2}
    assert stats["responses"] == {"500": 1, "503": 2, "200": 1}
    emu.admin.set_faults([{"route": "*", "kind": "500"}])
    emu.admin.clear_faults()
    assert client.get(op_url).status_code == 200
    assert emu.admin.faults()["rules"] == []


def test_admin_routes_are_never_faulted(emu: EmulatorServer) -> None:
    emu.admin.set_faults([{"route": "*", "kind": "500"}])
    assert emu.admin.create_operation(service="dataproc")["name"]
    assert emu.admin.stats()["faults"]["total"] == 0

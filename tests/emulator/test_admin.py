"""The admin API: input validation, counters, history, config, reset, time scale."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import httpx
import pytest

from airflow_provider_gcp_ops.emulator import EmulatorAdminError, EmulatorServer

from .conftest import TOKEN, assert_google_error, poll_until


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"service": "nope"},
        {"service": 3},
        {"service": "dataproc", "duration_s": -1},
        {"service": "dataproc", "duration_s": "60"},
        {"service": "dataproc", "duration_s": True},
        {"service": "dataproc", "cancel": "sometimes"},
        {"service": "dataproc", "cancel_delay_s": -0.1},
        {"service": "dataproc", "outcome": "success"},
        {"service": "dataproc", "outcome": {"error": {"code": 0}}},
        {"service": "dataproc", "outcome": {"error": {"code": 99}}},
        {"service": "dataproc", "outcome": {"error": {"code": 13, "extra": 1}}},
        {"service": "dataproc", "outcome": {"response": {}, "error": {"code": 13}}},
        {"service": "dataproc", "outcome": {"response": []}},
        {"service": "dataproc", "metadata": []},
        {"service": "dataproc", "name": "projects/p/locations/l/things/x"},
        {"service": "dataproc", "name": "projects/p/regions/r/operations/x", "project": "q"},
        {"service": "dataproc", "project": "a/b"},
        {"service": "dataproc", "project": ""},
        {"service": "spanner", "parent": "projects/p/locations/l"},
        {"service": "dataproc", "api_version": "v2"},
        {"service": "dataproc", "done": "yes"},
        {"service": "dataproc", "done": True, "duration_s": 5},
        {"service": "dataproc", "bogus": 1},
        ["not", "an", "object"],
    ],
)
def test_bad_create_requests_are_400(emu: EmulatorServer, payload: Any) -> None:
    response = httpx.post(f"{emu.url}/emulator/v1/operations", json=payload, timeout=5, trust_env=False)
    error = assert_google_error(response, 400, "INVALID_ARGUMENT")
    assert len(error["message"]) > 10


def test_malformed_json_is_400(emu: EmulatorServer) -> None:
    for path in ("operations", "faults", "config"):
        method = "POST" if path == "operations" else "PUT"
        response = httpx.request(method, f"{emu.url}/emulator/v1/{path}", content=b"{oops", timeout=5, trust_env=False)
        assert_google_error(response, 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize(
    "rules",
    [
        [{"route": "teleport", "kind": "500"}],
        [{"route": "get", "kind": "418"}],
        [{"route": "get", "kind": "500", "probability": 2}],
        [{"route": "get", "kind": "500", "count": -1}],
        [{"route": "get", "kind": "500", "stall_s": "long"}],
        [{"route": "get", "kind": "500", "colour": "red"}],
        ["500"],
    ],
)
def test_bad_fault_rules_are_400(emu: EmulatorServer, rules: list[Any]) -> None:
    with pytest.raises(EmulatorAdminError) as info:
        emu.admin.set_faults(rules)
    assert info.value.status == 400


@pytest.mark.parametrize(
    "config",
    [
        {"time_scale": 0},
        {"time_scale": "fast"},
        {"auth": "yes"},
        {"denied_projects": "p"},
        {"nope": 1},
        {"latency_s": -1},
        {"default_page_size": 5000},
    ],
)
def test_bad_config_is_400(emu: EmulatorServer, config: dict[str, Any]) -> None:
    with pytest.raises(EmulatorAdminError) as info:
        emu.admin.configure(**config)
    assert info.value.status == 400


def test_duplicate_name_is_409(emu: EmulatorServer) -> None:
    emu.admin.create_operation(service="alloydb", operation_id="same")
    with pytest.raises(EmulatorAdminError) as info:
        emu.admin.create_operation(service="alloydb", operation_id="same")
    assert info.value.status == 409


def test_defaults(emu: EmulatorServer) -> None:
    op = emu.admin.create_operation(service="composer")
    assert op["name"].startswith("projects/demo-project/locations/us-central1/operations/")
    history = emu.admin.history(op["name"])
    assert [s["state"] for s in history["states"]] == ["PENDING"]
    config = emu.admin.config()
    assert config == {
        "auth": True,
        "time_scale": 1.0,
        "rejected_tokens_count": 0,
        "denied_projects": [],
        "wait_cap_s": 30.0,
        "default_page_size": 100,
        "max_page_size": 1000,
        "latency_s": 0.0,
        "rate_limit_per_s": 0.0,
    }


def test_stats_keys(emu: EmulatorServer, client: httpx.Client) -> None:
    op = emu.admin.create_operation(service="dataproc", duration_s=600)["name"]
    client.get(f"/v1/{op}")
    client.get("/v1/projects/demo-project/regions/us-central1/operations")
    client.post(f"/v1/{op}:cancel")
    client.get("/v1/unmapped")
    stats = emu.admin.stats()
    assert stats["requests"] == {"get": 1, "list": 1, "cancel": 1, "delete": 0, "wait": 0, "admin": 2, "unknown": 1}
    assert stats["requests_total"] == 4
    assert stats["operations"] == {op: {"get": 1, "cancel": 1}}
    assert stats["responses"] == {"200": 3, "404": 1}
    assert stats["in_flight"] == 0
    assert stats["max_in_flight"] == 1
    assert stats["operations_created"] == 1
    assert stats["operations_live"] == 1


def test_max_in_flight_shows_client_concurrency(emu: EmulatorServer, client: httpx.Client) -> None:
    emu.admin.configure(latency_s=0.3)  # requests overlap only if they take time
    op = emu.admin.create_operation(service="dataproc", duration_s=600)["name"]
    threads = [threading.Thread(target=client.get, args=(f"/v1/{op}",)) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    stats = emu.admin.stats()
    assert stats["max_in_flight"] == 5
    assert stats["in_flight"] == 0


def test_history_records_requests_and_states(emu: EmulatorServer, client: httpx.Client) -> None:
    emu.admin.configure(time_scale=100)
    op = emu.admin.create_operation(service="alloydb", duration_s=600, cancel_delay_s=1)["name"]
    client.get(f"/v1/{op}")
    client.post(f"/v1/{op}:cancel")
    poll_until(lambda: client.get(f"/v1/{op}").json().get("done"))
    client.delete(f"/v1/{op}")
    client.get(f"/v1/{op}")
    history = emu.admin.history(op)
    assert history["name"] == op
    assert history["service"] == "alloydb"
    assert [s["state"] for s in history["states"]] == ["PENDING", "RUNNING", "CANCELLED", "DELETED"]
    assert history["state"] == "CANCELLED"
    assert history["done"]
    assert history["deleted"]
    verbs = [(r["verb"], r["status"]) for r in history["requests"]]
    assert verbs[:2] == [("get", 200), ("cancel", 200)]
    assert verbs[-2:] == [("delete", 200), ("get", 404)]
    times = [r["t"] for r in history["requests"]]
    assert times == sorted(times)
    cancelled_at = history["states"][2]["t"]
    assert history["cancel_requested_t"] is not None
    assert cancelled_at == pytest.approx(history["cancel_requested_t"] + 0.01, abs=0.05)


def test_history_of_unknown_operation_is_404(emu: EmulatorServer) -> None:
    with pytest.raises(EmulatorAdminError) as info:
        emu.admin.history("projects/p/regions/r/operations/none")
    assert info.value.status == 404


def test_reset_clears_everything(emu: EmulatorServer, client: httpx.Client) -> None:
    op = emu.admin.create_operation(service="dataproc", duration_s=600)["name"]
    emu.admin.set_faults([{"route": "get", "kind": "500"}])
    emu.admin.configure(denied_projects=["x"], time_scale=50)
    client.get(f"/v1/{op}")
    emu.admin.reset()
    assert client.get(f"/v1/{op}").status_code == 404
    stats = emu.admin.stats()
    assert stats["faults"]["total"] == 0
    assert stats["operations_created"] == 0
    assert emu.admin.faults()["rules"] == []
    assert emu.admin.config()["time_scale"] == 1.0
    assert emu.admin.config()["denied_projects"] == []


def test_time_scale_speeds_operations_up(emu: EmulatorServer, client: httpx.Client) -> None:
    emu.admin.configure(time_scale=200)
    op = emu.admin.create_operation(service="datafusion", duration_s=60)["name"]  # 0.3 s real
    t0 = time.monotonic()
    poll_until(lambda: client.get(f"/v1/{op}").json().get("done"))
    assert 0.2 < time.monotonic() - t0 < 3


def test_changing_the_time_scale_never_jumps_progress(emu: EmulatorServer, client: httpx.Client) -> None:
    op = emu.admin.create_operation(service="datafusion", duration_s=30)["name"]
    emu.admin.configure(time_scale=0.001)
    time.sleep(0.05)
    assert "done" not in client.get(f"/v1/{op}").json()
    emu.admin.configure(time_scale=1000)
    poll_until(lambda: client.get(f"/v1/{op}").json().get("done"), timeout=3)


def test_created_ago_backdates(emu: EmulatorServer, client: httpx.Client) -> None:
    op = emu.admin.create_operation(service="alloydb", duration_s=60, created_ago_s=7200)
    assert op["done"] is True
    created = dt.datetime.fromisoformat(op["metadata"]["createTime"].replace("Z", "+00:00"))
    age = dt.datetime.now(dt.timezone.utc) - created
    assert dt.timedelta(hours=1, minutes=59) < age < dt.timedelta(hours=2, minutes=1)


def test_admin_needs_no_token(emu: EmulatorServer) -> None:
    response = httpx.get(f"{emu.url}/emulator/v1/health", timeout=5, trust_env=False)
    assert response.json()["status"] == "ok"
    assert TOKEN  # the Google routes do need one: see test_access

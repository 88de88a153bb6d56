"""ListOperations: both collection shapes, pagination to the end, filters, argument errors."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer

from .conftest import assert_google_error


def list_all(client: httpx.Client, url: str, **params: Any) -> tuple[list[str], int]:
    names: list[str] = []
    pages = 0
    token = None
    while True:
        query = dict(params)
        if token:
            query["pageToken"] = token
        response = client.get(url, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        names += [o["name"] for o in body.get("operations", [])]
        token = body.get("nextPageToken")
        if not token:
            return names, pages
        assert pages < 100


@pytest.mark.parametrize(
    ("service", "kwargs", "url"),
    [
        ("dataproc", {"project": "p", "location": "r1"}, "/v1/projects/p/regions/r1/operations"),
        ("spanner", {"project": "p", "location": "inst"}, "/v1/projects/p/instances/inst/operations"),
        ("alloydb", {"project": "p", "location": "l1"}, "/v1/projects/p/locations/l1/operations"),
        ("run", {"project": "p", "location": "l1"}, "/v2/projects/p/locations/l1/operations"),
        ("dialogflow", {"project": "p", "location": "global"}, "/v2/projects/p/operations"),
    ],
)
def test_list_shapes(emu: EmulatorServer, client: httpx.Client, service: str, kwargs: dict[str, str], url: str) -> None:
    created = [emu.admin.create_operation(service=service, duration_s=600, **kwargs)["name"] for _ in range(3)]
    emu.admin.create_operation(service=service, duration_s=600)  # another collection
    names, pages = list_all(client, url)
    assert names == created
    assert pages == 1


def test_empty_list_is_an_empty_object(client: httpx.Client) -> None:
    response = client.get("/v1/projects/p/regions/nowhere/operations")
    assert response.status_code == 200
    assert response.json() == {}


def test_pagination_to_the_end_in_creation_order(emu: EmulatorServer, client: httpx.Client) -> None:
    created = [emu.admin.create_operation(service="datafusion", duration_s=600)["name"] for _ in range(250)]
    names, pages = list_all(client, "/v1/projects/demo-project/locations/us-central1/operations", pageSize=100)
    assert pages == 3
    assert names == created  # every name exactly once, stable order


def test_default_and_capped_page_sizes(emu: EmulatorServer, client: httpx.Client) -> None:
    emu.admin.configure(default_page_size=2, max_page_size=3)
    for _ in range(5):
        emu.admin.create_operation(service="alloydb", duration_s=600)
    url = "/v1/projects/demo-project/locations/us-central1/operations"
    assert len(client.get(url).json()["operations"]) == 2
    assert len(client.get(url, params={"pageSize": 0}).json()["operations"]) == 2
    assert len(client.get(url, params={"pageSize": 1000}).json()["operations"]) == 3


def test_pages_survive_deletes_and_creates_between_calls(emu: EmulatorServer, client: httpx.Client) -> None:
    created = [emu.admin.create_operation(service="composer", duration_s=600)["name"] for _ in range(6)]
    url = "/v1/projects/demo-project/locations/us-central1/operations"
    first = client.get(url, params={"pageSize": 3}).json()
    assert [o["name"] for o in first["operations"]] == created[:3]
    client.delete(f"/v1/{created[3]}")
    later = emu.admin.create_operation(service="composer", duration_s=600)["name"]
    rest = client.get(url, params={"pageSize": 10, "pageToken": first["nextPageToken"]}).json()
    assert [o["name"] for o in rest["operations"]] == [*created[4:], later]
    assert "nextPageToken" not in rest


@pytest.mark.parametrize(
    "params",
    [
        {"pageSize": "abc"},
        {"pageSize": "-1"},
        {"pageSize": "1.5"},
        {"pageToken": "not-a-token"},
        {"pageToken": "eyJhIjogMX0"},  # valid base64 JSON, but not for this query
        {"returnPartialSuccess": "maybe"},
        {"filter": "done ="},
        {"filter": "done = true OR done = false"},
        {"filter": "(done = true)"},
        {"filter": "done = true AND"},
        {"filter": "= true"},
        {"filter": '{"operation_state_matcher": "SOMETIMES"}'},
        {"filter": "{not json"},
    ],
)
def test_bad_list_arguments_are_400(emu: EmulatorServer, client: httpx.Client, params: dict[str, str]) -> None:
    emu.admin.create_operation(service="dataproc", duration_s=600)
    response = client.get("/v1/projects/demo-project/regions/us-central1/operations", params=params)
    error = assert_google_error(response, 400, "INVALID_ARGUMENT")
    assert error["details"][0]["@type"] == "type.googleapis.com/google.rpc.BadRequest"


def test_page_token_of_another_filter_is_rejected(emu: EmulatorServer, client: httpx.Client) -> None:
    for _ in range(3):
        emu.admin.create_operation(service="dataproc", duration_s=600)
    url = "/v1/projects/demo-project/regions/us-central1/operations"
    token = client.get(url, params={"pageSize": 1}).json()["nextPageToken"]
    assert client.get(url, params={"pageSize": 1, "pageToken": token}).status_code == 200
    response = client.get(url, params={"pageSize": 1, "pageToken": token, "filter": "done = false"})
    assert_google_error(response, 400, "INVALID_ARGUMENT")


@pytest.fixture
def mixed(emu: EmulatorServer) -> dict[str, str]:
    """Dataproc operations in several states: running x2 (clusters a, b), done ok, done failed."""
    return {
        "run_a": emu.admin.create_operation(
            service="dataproc", duration_s=600, pending_s=0, metadata={"clusterName": "a"}
        )["name"],
        "run_b": emu.admin.create_operation(
            service="dataproc", duration_s=600, pending_s=0, metadata={"clusterName": "b"}
        )["name"],
        "ok": emu.admin.create_operation(service="dataproc", duration_s=0, metadata={"clusterName": "a"})["name"],
        "bad": emu.admin.create_operation(
            service="dataproc", duration_s=0, outcome={"error": {"code": 9, "message": "nope"}}
        )["name"],
    }


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        ("", ["run_a", "run_b", "ok", "bad"]),
        ("done = true", ["ok", "bad"]),
        ("done=false", ["run_a", "run_b"]),
        ("done != true", ["run_a", "run_b"]),
        ("status.state = RUNNING", ["run_a", "run_b"]),
        ("metadata.status.state = DONE", ["ok", "bad"]),
        ("status.state = RUNNING AND clusterName = a", ["run_a"]),
        ('metadata.clusterName = "b"', ["run_b"]),
        ("cluster_name = a AND done = true", ["ok"]),
        ("error.code = 9", ["bad"]),
        ("error:*", ["bad"]),
        ("metadata.operationType:CREA", ["run_a", "run_b", "ok", "bad"]),
        ('{"operation_state_matcher": "ACTIVE"}', ["run_a", "run_b"]),
        ('{"operation_state_matcher": "NON_ACTIVE"}', ["ok", "bad"]),
        ('{"operation_state_matcher": "ALL", "cluster_name": "a"}', ["run_a", "ok"]),
        ("metadata.nothing = x", []),
    ],
)
def test_filters(client: httpx.Client, mixed: dict[str, str], filter_text: str, expected: list[str]) -> None:
    names, _ = list_all(client, "/v1/projects/demo-project/regions/us-central1/operations", filter=filter_text)
    assert names == [mixed[k] for k in expected]


def test_filter_applies_across_pages(emu: EmulatorServer, client: httpx.Client) -> None:
    created = [
        emu.admin.create_operation(service="alloydb", duration_s=0 if i % 3 == 0 else 600)["name"] for i in range(30)
    ]
    names, pages = list_all(
        client, "/v1/projects/demo-project/locations/us-central1/operations", filter="done = true", pageSize=4
    )
    assert names == created[::3]
    assert pages == 3


def test_return_partial_success_is_accepted(emu: EmulatorServer, client: httpx.Client) -> None:
    emu.admin.create_operation(service="alloydb", duration_s=600)
    body = client.get(
        "/v1/projects/demo-project/locations/us-central1/operations", params={"returnPartialSuccess": "true"}
    ).json()
    assert len(body["operations"]) == 1
    assert "unreachable" not in body


def test_gcloud_json_filter_round_trips_through_a_query_string(emu: EmulatorServer, client: httpx.Client) -> None:
    emu.admin.create_operation(service="dataproc", duration_s=600)
    text = json.dumps({"operation_state_matcher": "ACTIVE"})
    names, _ = list_all(client, "/v1/projects/demo-project/regions/us-central1/operations", filter=text)
    assert len(names) == 1

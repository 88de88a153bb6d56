"""GET / DELETE / :wait on every service row, names and JSON shaped like Google's, unknown routes."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer
from airflow_provider_gcp_ops.operations.services import Verb, WaitStyle, get_service, services

from .conftest import assert_google_error, poll_until

ALL = sorted(
    s.key
    for s in services()
    if s.key
    in {"dataproc", "datafusion", "dialogflow", "datalineage", "aiplatform", "spanner", "alloydb", "run", "composer"}
)
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}"
MILLIS_HEX = r"operation-\d{13}-[0-9a-f]{13}-[0-9a-f]{8}-[0-9a-f]{8}"
LOC = "projects/demo-project/locations/us-central1/operations/"
NAME_SHAPES = {
    "dataproc": "projects/demo-project/regions/us-central1/operations/" + UUID,
    "datafusion": LOC + MILLIS_HEX,
    "datalineage": LOC + MILLIS_HEX,
    "alloydb": LOC + MILLIS_HEX,
    "dialogflow": "projects/demo-project/operations/" + UUID,
    "aiplatform": LOC + r"\d{19}",
    "spanner": r"projects/demo-project/instances/demo-instance/operations/[0-9a-f]{16}",
    "run": LOC + UUID,
    "composer": LOC + UUID,
}

METADATA_TYPES = {
    "dataproc": "type.googleapis.com/google.cloud.dataproc.v1.ClusterOperationMetadata",
    "datafusion": "type.googleapis.com/google.cloud.datafusion.v1.OperationMetadata",
    "datalineage": "type.googleapis.com/google.cloud.datacatalog.lineage.v1.OperationMetadata",
    "alloydb": "type.googleapis.com/google.cloud.alloydb.v1.OperationMetadata",
    "dialogflow": "type.googleapis.com/google.cloud.dialogflow.v2.KnowledgeOperationMetadata",
    "aiplatform": "type.googleapis.com/google.cloud.aiplatform.v1.DeleteOperationMetadata",
    "spanner": "type.googleapis.com/google.spanner.admin.instance.v1.UpdateInstanceMetadata",
    "run": "type.googleapis.com/google.cloud.run.v2.Service",
    "composer": "type.googleapis.com/google.cloud.orchestration.airflow.service.v1.OperationMetadata",
}


def ver(service: str) -> str:
    return get_service(service).default_version


def test_the_catalog_covers_every_built_in_row() -> None:
    assert set(ALL) == set(NAME_SHAPES)


@pytest.mark.parametrize("service", ALL)
def test_running_operation_looks_like_google(emu: EmulatorServer, client: httpx.Client, service: str) -> None:
    created = emu.admin.create_operation(service=service, duration_s=600)
    assert re.fullmatch(NAME_SHAPES[service], created["name"]), created["name"]
    assert get_service(service).matches(created["name"])
    response = client.get(f"/{ver(service)}/{created['name']}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=UTF-8"
    body = response.json()
    assert list(body) == ["name", "metadata"]  # done: false is omitted, no error, no response
    assert body["name"] == created["name"]
    assert body["metadata"]["@type"] == METADATA_TYPES[service]
    assert response.text.startswith('{\n  "name"')  # pretty-printed like ESF


@pytest.mark.parametrize("service", ALL)
def test_done_operation_has_exactly_one_of_error_or_response(
    emu: EmulatorServer, client: httpx.Client, service: str
) -> None:
    ok = emu.admin.create_operation(service=service, duration_s=0)
    failed = emu.admin.create_operation(
        service=service, done=True, outcome={"error": {"code": 13, "message": "disk on fire"}}
    )
    body = client.get(f"/{ver(service)}/{ok['name']}").json()
    assert body["done"] is True
    assert "error" not in body
    assert body["response"]["@type"].startswith("type.googleapis.com/")
    body = client.get(f"/{ver(service)}/{failed['name']}").json()
    assert body["done"] is True
    assert "response" not in body
    assert body["error"] == {"code": 13, "message": "disk on fire"}


def test_dataproc_metadata_progresses_pending_running_done(emu: EmulatorServer, client: httpx.Client) -> None:
    emu.admin.configure(time_scale=20)
    created = emu.admin.create_operation(service="dataproc", duration_s=4, pending_s=1)
    assert created["metadata"]["status"]["state"] == "PENDING"
    assert RFC3339.match(created["metadata"]["status"]["stateStartTime"])

    def state() -> str:
        return str(client.get(f"/v1/{created['name']}").json()["metadata"]["status"]["state"])

    poll_until(lambda: state() == "RUNNING")
    body = poll_until(lambda: (b := client.get(f"/v1/{created['name']}").json()).get("done") and b)
    md = body["metadata"]
    assert md["status"]["state"] == "DONE"
    assert [h["state"] for h in md["statusHistory"]] == ["PENDING", "RUNNING"]
    assert md["operationType"] == "CREATE"
    assert body["response"] == {"@type": "type.googleapis.com/google.protobuf.Empty"}


def test_generic_metadata_fields(emu: EmulatorServer, client: httpx.Client) -> None:
    created = emu.admin.create_operation(service="alloydb", duration_s=600)
    md = created["metadata"]
    assert list(md) == ["@type", "createTime", "target", "verb", "requestedCancellation", "apiVersion"]
    assert md["requestedCancellation"] is False
    assert md["apiVersion"] == "v1"
    assert RFC3339.match(md["createTime"])
    done = emu.admin.create_operation(service="datafusion", duration_s=0, api_version="v1beta1")
    md = client.get(f"/v1beta1/{done['name']}").json()["metadata"]
    assert md["@type"] == "type.googleapis.com/google.cloud.datafusion.v1beta1.OperationMetadata"
    assert RFC3339.match(md["endTime"])


def test_vertex_operation_nested_under_a_parent(emu: EmulatorServer, client: httpx.Client) -> None:
    parent = "projects/123/locations/europe-west4/datasets/777"
    created = emu.admin.create_operation(service="aiplatform", parent=parent, duration_s=600)
    assert created["name"].startswith(parent + "/operations/")
    md = created["metadata"]
    assert set(md["genericMetadata"]) == {"createTime", "updateTime"}
    assert client.get(f"/v1/{created['name']}").status_code == 200
    listed = client.get(f"/v1/{parent}/operations").json()
    assert [o["name"] for o in listed["operations"]] == [created["name"]]


def test_explicit_name_and_metadata_override(emu: EmulatorServer, client: httpx.Client) -> None:
    name = "projects/p1/regions/europe-west1/operations/my-op"
    created = emu.admin.create_operation(
        service="dataproc", name=name, metadata={"clusterName": "etl", "labels": {"team": "data"}}
    )
    assert created["name"] == name
    body = client.get(f"/v1/{name}").json()
    assert body["metadata"]["clusterName"] == "etl"
    assert body["metadata"]["labels"] == {"team": "data"}
    assert body["metadata"]["status"]["state"] == "PENDING"


def test_dialogflow_regional_and_cx_names(emu: EmulatorServer, client: httpx.Client) -> None:
    regional = emu.admin.create_operation(service="dialogflow", location="europe-west2", api_version="v3")
    assert regional["name"].startswith("projects/demo-project/locations/europe-west2/operations/")
    assert regional["metadata"]["@type"].endswith("dialogflow.cx.v3.GenericKnowledgeOperationMetadata")
    assert client.get(f"/v3/{regional['name']}").status_code == 200


def test_run_response_is_the_service(emu: EmulatorServer, client: httpx.Client) -> None:
    created = emu.admin.create_operation(service="run", duration_s=0)
    body = client.get(f"/v2/{created['name']}").json()
    assert body["response"]["@type"] == "type.googleapis.com/google.cloud.run.v2.Service"
    assert body["response"]["name"] == body["metadata"]["name"]


def test_delete_then_get_is_404(emu: EmulatorServer, client: httpx.Client) -> None:
    created = emu.admin.create_operation(service="datafusion", duration_s=600)
    url = f"/v1/{created['name']}"
    response = client.delete(url)
    assert response.status_code == 200
    assert response.json() == {}
    assert_google_error(client.get(url), 404, "NOT_FOUND")
    assert_google_error(client.delete(url), 404, "NOT_FOUND")
    assert emu.admin.stats()["operations_live"] == 0


def test_delete_on_dialogflow_is_501(emu: EmulatorServer, client: httpx.Client) -> None:
    created = emu.admin.create_operation(service="dialogflow", location="us-east1", duration_s=600)
    for version in ("v2", "v3"):
        assert_google_error(client.delete(f"/{version}/{created['name']}"), 501, "UNIMPLEMENTED")
    assert client.get(f"/v2/{created['name']}").status_code == 200


def test_unknown_operation_is_json_404(client: httpx.Client) -> None:
    error = assert_google_error(client.get("/v1/projects/p/regions/r/operations/nope"), 404, "NOT_FOUND")
    assert "projects/p/regions/r/operations/nope" in error["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/nothing/here"),
        ("GET", "/v9/projects/p/regions/r/operations/x"),  # no service has v9
        ("GET", "/v2/projects/p/regions/r/operations/x"),  # dataproc has no v2
        ("GET", "/v1/projects/p/instances/i/operations"),  # spanner list under v1 is fine: see test_list
        ("POST", "/v1/operations/x:frobnicate"),
        ("POST", "/v1/projects/p/regions/r/operations/x:frobnicate"),  # not a create method (methods.py)
        ("POST", "/v1/projects/p/regions/r/operations"),
        ("PUT", "/v1/projects/p/regions/r/operations/x"),
        ("GET", "/"),
    ],
)
def test_unmapped_urls_get_googles_html_404(client: httpx.Client, method: str, path: str) -> None:
    response = client.request(method, path)
    if path == "/v1/projects/p/instances/i/operations":
        assert response.status_code == 200
        return
    assert response.status_code == 404, (response.headers, response.text[:500])
    assert response.headers["content-type"].startswith("text/html")
    assert "404." in response.text


def test_version_must_be_one_the_row_lists(emu: EmulatorServer, client: httpx.Client) -> None:
    created = emu.admin.create_operation(service="alloydb", duration_s=600)
    for version in ("v1", "v1beta", "v1alpha"):
        assert client.get(f"/{version}/{created['name']}").status_code == 200
    # v2 exists for other services under projects/*/locations/*, but this operation is not theirs.
    assert_google_error(client.get(f"/v2/{created['name']}"), 404, "NOT_FOUND")


def test_wait_query_style_returns_when_done(emu: EmulatorServer, client: httpx.Client) -> None:
    emu.admin.configure(time_scale=100)
    created = emu.admin.create_operation(service="aiplatform", duration_s=20)  # 0.2 s real
    t0 = time.monotonic()
    body = client.post(f"/v1/{created['name']}:wait", params={"timeout": "5s"}).json()
    assert body["done"] is True
    assert time.monotonic() - t0 < 2.0


def test_wait_returns_early_at_its_timeout(emu: EmulatorServer, client: httpx.Client) -> None:
    created = emu.admin.create_operation(service="run", duration_s=600)
    t0 = time.monotonic()
    response = client.post(f"/v2/{created['name']}:wait", json={"timeout": "0.2s"})
    elapsed = time.monotonic() - t0
    assert response.status_code == 200
    assert "done" not in response.json()
    assert 0.15 < elapsed < 2.0


def test_wait_is_capped_by_config(emu: EmulatorServer, client: httpx.Client) -> None:
    emu.admin.configure(wait_cap_s=0.2)
    created = emu.admin.create_operation(service="aiplatform", duration_s=600)
    t0 = time.monotonic()
    assert client.post(f"/v1/{created['name']}:wait", params={"timeout": "60s"}).status_code == 200
    assert time.monotonic() - t0 < 2.0


def test_wait_argument_errors(emu: EmulatorServer, client: httpx.Client) -> None:
    vertex = emu.admin.create_operation(service="aiplatform", duration_s=600)["name"]
    run = emu.admin.create_operation(service="run", duration_s=600)["name"]
    assert_google_error(client.post(f"/v1/{vertex}:wait", params={"timeout": "ten"}), 400, "INVALID_ARGUMENT")
    assert_google_error(client.post(f"/v1/{vertex}:wait", json={"timeout": "1s"}), 400, "INVALID_ARGUMENT")
    assert_google_error(client.post(f"/v2/{run}:wait", params={"timeout": "1s"}), 400, "INVALID_ARGUMENT")
    assert_google_error(client.post(f"/v2/{run}:wait", content=b"{not json"), 400, "INVALID_ARGUMENT")
    assert_google_error(client.post(f"/v2/{run}:wait", json={"timeout": 5}), 400, "INVALID_ARGUMENT")


@pytest.mark.parametrize("service", [k for k in ALL if not get_service(k).supports(Verb.WAIT)])
def test_wait_where_the_service_has_none_is_501(emu: EmulatorServer, client: httpx.Client, service: str) -> None:
    assert get_service(service).wait_style is WaitStyle.NONE
    created = emu.admin.create_operation(service=service, duration_s=600)
    assert_google_error(client.post(f"/{ver(service)}/{created['name']}:wait"), 501, "UNIMPLEMENTED")

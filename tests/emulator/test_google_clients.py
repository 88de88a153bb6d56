"""Google-written clients pointed at the emulator: the discovery client built from each API's own Discovery
document runs get, paged list, cancel, delete and wait on the emulator (addressed as the service, so services stay
apart), and every Operation it gets back fits the document's ``Operation`` schema exactly; error bodies are
classified by google-api-core as the right exception class."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import google_auth_httplib2
import httplib2
import pytest
from google.api_core import exceptions as core_exceptions
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError
from known_services import HAND_KEPT

from airflow_provider_gcp_ops.emulator.server import EmulatorServer
from airflow_provider_gcp_ops.operations.services import Verb, get_service, services

DOCS = Path(__import__("googleapiclient").__file__).parent / "discovery_cache" / "documents"
LOCATED = "projects/*/locations/*/operations/*"


def _generated_sample(count: int = 20) -> list[str]:
    out = []
    for spec in services():
        coll = spec.collection_for("projects/p/locations/l/operations/o", spec.default_version)
        if spec.key in HAND_KEPT or coll is None or coll.name != LOCATED or Verb.LIST not in coll.methods:
            continue
        if (DOCS / f"{spec.key}.{spec.default_version}.json").exists():
            out.append(spec.key)
    return out[:: max(1, len(out) // count)][:count]


SAMPLE = _generated_sample()


def _client(emu: EmulatorServer, key: str, version: str) -> Any:
    doc = json.loads((DOCS / f"{key}.{version}.json").read_text(encoding="utf-8"))
    http = google_auth_httplib2.AuthorizedHttp(Credentials(token="test-token"), http=httplib2.Http(timeout=10))
    endpoint = f"{emu.url}/{get_service(key).host}/{doc.get('servicePath', '')}"
    return build_from_document(doc, http=http, client_options={"api_endpoint": endpoint}), doc


def _check_schema(doc: dict[str, Any], op: dict[str, Any]) -> None:
    """Every field is one the document's Operation schema has, with the JSON type it says."""
    schema = doc["schemas"][
        doc["resources"]["projects"]["resources"]["locations"]["resources"]["operations"]["methods"]["get"]["response"][
            "$ref"
        ]
    ]
    props = schema["properties"]
    assert set(op) <= set(props), set(op) - set(props)
    assert isinstance(op["name"], str)
    assert isinstance(op.get("done", False), bool)
    for key in ("metadata", "response", "error"):
        if key in op:
            assert isinstance(op[key], dict)
    if "error" in op:
        assert isinstance(op["error"]["code"], int)


@pytest.mark.parametrize(
    "key",
    [
        k
        for k in HAND_KEPT
        if get_service(k).matches("projects/p/locations/l/operations/o", get_service(k).default_version)
    ]
    + SAMPLE,
)
def test_discovery_client_runs_every_verb_on_the_emulator(gcp_ops_emulator: EmulatorServer, key: str) -> None:
    emu = gcp_ops_emulator
    spec = get_service(key)
    version = spec.default_version
    client, doc = _client(emu, key, version)
    ops = client.projects().locations().operations()
    parent = "projects/demo-project/locations/us-central1"
    created = [
        emu.admin.create_operation(service=key, api_version=version, parent=parent, duration_s=600)["name"]
        for _ in range(3)
    ]
    coll = spec.collection_for(created[0], version)
    assert coll is not None
    got = ops.get(name=created[0]).execute()
    _check_schema(doc, got)
    assert got["name"] == created[0] and got.get("done", False) is False
    # Paged list: one per page, every page parses, together they are the three.
    listed, token = [], None
    named = coll.methods[Verb.LIST].list_shape == "name"  # Dataproc: {name} is the collection, ending in /operations
    list_kwargs: dict[str, Any] = {"name": f"{parent}/operations" if named else parent, "pageSize": 1}
    while True:
        page = ops.list(**list_kwargs, **({"pageToken": token} if token else {})).execute()
        for op in page.get("operations", []):
            _check_schema(doc, op)
            listed.append(op["name"])
        token = page.get("nextPageToken")
        if not token:
            break
    assert listed == created
    if Verb.CANCEL in coll.methods:
        kwargs = {"body": {}} if coll.methods[Verb.CANCEL].body else {}
        assert ops.cancel(name=created[1], **kwargs).execute() == {}
    if Verb.WAIT in coll.methods:
        timeout = {"timeout": "0.1s"}
        kwargs = timeout if coll.methods[Verb.WAIT].wait.value == "query" else {"body": timeout}
        _check_schema(doc, ops.wait(name=created[2], **kwargs).execute())
    if Verb.DELETE in coll.methods:
        assert ops.delete(name=created[2]).execute() == {}
        with pytest.raises(HttpError) as info:
            ops.get(name=created[2]).execute()
        assert info.value.resp.status == 404


def test_sample_has_twenty_generated_apis() -> None:
    assert len(SAMPLE) >= 20


def test_a_listing_as_one_service_never_returns_anothers_operations(gcp_ops_emulator: EmulatorServer) -> None:
    emu = gcp_ops_emulator
    parent = "projects/demo-project/locations/us-central1"
    fusion = emu.admin.create_operation(service="datafusion", parent=parent, duration_s=600)["name"]
    alloy = emu.admin.create_operation(service="alloydb", parent=parent, duration_s=600)["name"]
    ops = _client(emu, "datafusion", "v1")[0].projects().locations().operations()
    assert [op["name"] for op in ops.list(name=parent).execute()["operations"]] == [fusion]
    with pytest.raises(HttpError) as info:
        ops.get(name=alloy).execute()  # AlloyDB's operation is not Data Fusion's
    assert info.value.resp.status == 404


@pytest.mark.parametrize(
    ("setup", "exception"),
    [
        ("missing", core_exceptions.NotFound),
        ("no_token", core_exceptions.Unauthorized),  # REST: by HTTP status (401), as api-core maps it
        ("denied", core_exceptions.Forbidden),
        ("unimplemented", core_exceptions.MethodNotImplemented),
    ],
)
def test_error_bodies_are_classified_by_google_api_core(
    gcp_ops_emulator: EmulatorServer, setup: str, exception: type[Exception]
) -> None:
    import httpx

    emu = gcp_ops_emulator
    headers = {} if setup == "no_token" else {"Authorization": "Bearer t"}
    name = "projects/demo-project/locations/us-central1/operations/nope"
    method, path = "GET", f"/datafusion.googleapis.com/v1/{name}"
    if setup == "denied":
        emu.admin.configure(denied_projects=["demo-project"])
    if setup == "unimplemented":
        created = emu.admin.create_operation(service="datafusion", duration_s=600, cancel="unimplemented")["name"]
        method, path = "POST", f"/datafusion.googleapis.com/v1/{created}:cancel"
    with httpx.Client(base_url=emu.url, headers=headers, timeout=5.0, trust_env=False) as http:
        response = http.request(method, path)

    class _Response:  # the requests-like surface from_http_response reads
        status_code = response.status_code
        text = response.text
        request = type("Req", (), {"method": method, "url": str(response.url)})()

        def json(self) -> Any:
            return response.json()

    error = core_exceptions.from_http_response(_Response())  # type: ignore[arg-type]
    assert type(error) is exception, (response.status_code, response.text)

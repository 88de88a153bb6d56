"""Request building per service row, and the response parsers both clients share."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from known_services import hand_kept_rows

from airflow_provider_gcp_ops.operations.core import (
    HttpRequest,
    ListPage,
    cancel_request,
    delete_request,
    format_duration,
    get_request,
    list_request,
    parse_duration,
    parse_empty,
    parse_list,
    parse_operation,
    raise_for_status,
    wait_request,
)
from airflow_provider_gcp_ops.operations.errors import (
    MalformedResponseError,
    NotFound,
    PermissionDenied,
    Unavailable,
    Unimplemented,
)
from airflow_provider_gcp_ops.operations.model import OperationState
from airflow_provider_gcp_ops.operations.names import OperationRef, resolve_collection, resolve_operation
from airflow_provider_gcp_ops.operations.services import (
    ServiceSpec,
    Verb,
    WaitStyle,
    get_service,
    register_service,
    unregister_service,
)

ROWS = hand_kept_rows()
KEYS = [spec.key for spec in ROWS]


def ref_for(key: str) -> OperationRef:
    spec = get_service(key)
    name = {
        "spanner": "projects/p/instances/i/operations/op-1",
        "dataproc": "projects/p/regions/us-central1/operations/op-1",
    }.get(key, "projects/p/locations/us-central1/operations/op-1")
    return resolve_operation(name, service=spec.key)


@pytest.mark.parametrize("key", KEYS)
def test_get_request(key: str) -> None:
    ref = ref_for(key)
    request = get_request(ref)
    assert (request.verb, request.method, request.host) == (Verb.GET, "GET", ref.host)
    assert request.path == ref.path()
    assert request.has_body is False
    assert request.body_bytes() is None
    assert request.headers() == {}
    assert request.url() == f"https://{ref.host}{ref.path()}"


@pytest.mark.parametrize("key", KEYS)
def test_cancel_request_follows_the_row(key: str) -> None:
    spec = get_service(key)
    ref = ref_for(key)
    if not spec.supports(Verb.CANCEL):
        with pytest.raises(Unimplemented, match="service table") as info:
            cancel_request(ref)
        assert info.value.http_status is None
        assert info.value.url == f"https://{ref.host}{ref.path(':cancel')}"
        return
    request = cancel_request(ref)
    assert (request.method, request.path) == ("POST", ref.path(":cancel"))
    if spec.cancel_body is None:
        assert request.has_body is False
        assert request.body_bytes() is None
    else:
        assert request.has_body is True
        assert request.json == {}
        assert request.body_bytes() == b"{}"
        assert request.headers() == {"Content-Type": "application/json"}


def test_cancel_bodies_of_the_builtin_rows() -> None:
    with_body = sorted(k for k in KEYS if get_service(k).supports(Verb.CANCEL) and cancel_request(ref_for(k)).has_body)
    assert with_body == ["alloydb", "datafusion", "datalineage"]
    for key in ("composer", "run"):
        with pytest.raises(Unimplemented):
            cancel_request(ref_for(key))


@pytest.mark.parametrize("key", KEYS)
def test_delete_request_follows_the_row(key: str) -> None:
    ref = ref_for(key)
    if not get_service(key).supports(Verb.DELETE):
        with pytest.raises(Unimplemented, match="'delete'"):
            delete_request(ref)
        return
    request = delete_request(ref)
    assert (request.verb, request.method, request.path, request.has_body) == (Verb.DELETE, "DELETE", ref.path(), False)


@pytest.mark.parametrize("key", KEYS)
def test_wait_request_follows_the_row(key: str) -> None:
    spec = get_service(key)
    ref = ref_for(key)
    if spec.wait_style is WaitStyle.NONE:
        with pytest.raises(Unimplemented):
            wait_request(ref, 10)
        return
    request = wait_request(ref, 12.5)
    assert (request.method, request.path) == ("POST", ref.path(":wait"))
    if spec.wait_style is WaitStyle.QUERY:
        assert request.query == (("timeout", "12.5s"),)
        assert request.has_body is False
        assert request.url().endswith(":wait?timeout=12.5s")
    else:
        assert request.json == {"timeout": "12.5s"}
        assert request.has_body is True
        assert request.query == ()


def test_wait_styles_of_the_builtin_rows() -> None:
    assert wait_request(ref_for("aiplatform"), 10).url().endswith(":wait?timeout=10s")
    assert wait_request(ref_for("run"), 10).body_bytes() == b'{"timeout":"10s"}'


@pytest.mark.parametrize("timeout", [-1, math.nan, math.inf, "10"])
def test_wait_timeout_is_validated(timeout: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        wait_request(ref_for("aiplatform"), timeout)  # type: ignore[arg-type]


def test_list_request_query_keys() -> None:
    coll = resolve_collection("projects/p/regions/us-central1")
    request = list_request(
        coll,
        filter="status.state = RUNNING AND clusterName = x",
        page_size=50,
        page_token="tok/+=",
        return_partial_success=True,
    )
    assert request.path == "/v1/projects/p/regions/us-central1/operations"
    assert request.query == (
        ("filter", "status.state = RUNNING AND clusterName = x"),
        ("pageSize", "50"),
        ("pageToken", "tok/+="),
        ("returnPartialSuccess", "true"),
    )
    assert request.url() == (
        "https://us-central1-dataproc.googleapis.com/v1/projects/p/regions/us-central1/operations"
        "?filter=status.state+%3D+RUNNING+AND+clusterName+%3D+x&pageSize=50&pageToken=tok%2F%2B%3D"
        "&returnPartialSuccess=true"
    )
    assert (
        request.describe()
        == "GET https://us-central1-dataproc.googleapis.com/v1/projects/p/regions/us-central1/operations"
    )
    assert list_request(coll).query == ()


@pytest.mark.parametrize("page_size", [0, -5, True, 2.5, "10"])
def test_list_page_size_is_validated_before_any_io(page_size: object) -> None:
    coll = resolve_collection("projects/p/regions/r")
    with pytest.raises(ValueError, match="page_size"):
        list_request(coll, page_size=page_size)  # type: ignore[arg-type]


def test_url_with_base_url_replaces_scheme_and_host() -> None:
    request = wait_request(ref_for("aiplatform"), 5)
    assert request.url("http://127.0.0.1:8123/") == (
        "http://127.0.0.1:8123/us-central1-aiplatform.googleapis.com"
        "/v1/projects/p/locations/us-central1/operations/op-1:wait?timeout=5s"
    )
    assert request.describe("http://127.0.0.1:8123") == (
        "POST http://127.0.0.1:8123/us-central1-aiplatform.googleapis.com"
        "/v1/projects/p/locations/us-central1/operations/op-1:wait"
    )


def test_missing_get_or_list_in_a_registered_row_is_unimplemented() -> None:
    spec = ServiceSpec(
        key="zz_partial",
        title="Partial",
        host="zzpartial.googleapis.com",
        versions=("v1",),
        name_patterns=("projects/*/zones/*/operations/*",),
        missing_verbs=frozenset({Verb.GET, Verb.LIST}),
    )
    register_service(spec)
    try:
        with pytest.raises(Unimplemented, match="'get'"):
            get_request(resolve_operation("projects/p/zones/z/operations/o"))
        with pytest.raises(Unimplemented, match="'list'"):
            list_request(resolve_collection("projects/p/zones/z"))
    finally:
        unregister_service("zz_partial")


# -- parsers ----------------------------------------------------------------------------------------------------

REQ = HttpRequest(Verb.GET, "GET", "dataproc.googleapis.com", "/v1/projects/p/regions/r/operations/a")
OP_BODY = {"name": "projects/p/regions/r/operations/a", "done": True, "response": {"@type": "x"}}


def test_parse_operation_ok() -> None:
    op = parse_operation(200, {}, json.dumps(OP_BODY).encode(), REQ)
    assert op.state is OperationState.SUCCEEDED


def test_parse_operation_error_status_raises_typed() -> None:
    body = b'{"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}}'
    with pytest.raises(NotFound) as info:
        parse_operation(404, {}, body, REQ)
    assert (
        str(info.value)
        == "404 NOT_FOUND: not found (GET https://dataproc.googleapis.com/v1/projects/p/regions/r/operations/a)"
    )


@pytest.mark.parametrize("body", [b"<html>ok</html>", b"", b"[]", b'{"done": true}', b'"x"'])
def test_parse_operation_malformed_2xx(body: bytes) -> None:
    with pytest.raises(MalformedResponseError) as info:
        parse_operation(200, {}, body, REQ)
    assert "GET https://dataproc.googleapis.com" in str(info.value)


def test_parse_list() -> None:
    body = {
        "operations": [OP_BODY, {"name": "projects/p/regions/r/operations/b"}],
        "nextPageToken": "next",
        "unreachable": ["projects/p/regions/x"],
    }
    page = parse_list(200, {}, json.dumps(body).encode(), REQ)
    assert isinstance(page, ListPage)
    assert [op.state for op in page.operations] == [OperationState.SUCCEEDED, OperationState.RUNNING]
    assert page.next_page_token == "next"
    assert page.unreachable == ("projects/p/regions/x",)


@pytest.mark.parametrize("body", [b"{}", b"", b'{"operations": [], "nextPageToken": ""}'])
def test_parse_list_empty_page(body: bytes) -> None:
    assert parse_list(200, {}, body, REQ) == ListPage(operations=(), next_page_token=None, unreachable=())


@pytest.mark.parametrize("body", [b"[]", b'{"operations": {}}', b'{"operations": [{"done": true}]}', b"nope"])
def test_parse_list_malformed(body: bytes) -> None:
    with pytest.raises(MalformedResponseError):
        parse_list(200, {}, body, REQ)


def test_parse_list_error() -> None:
    with pytest.raises(PermissionDenied):
        parse_list(403, {}, b'{"error": {"code": 403, "message": "no", "status": "PERMISSION_DENIED"}}', REQ)


@pytest.mark.parametrize("body", [b"", b"{}", b"  \n", b'{"anything": 1}'])
def test_parse_empty_accepts_empty_and_json(body: bytes) -> None:
    assert parse_empty(200, {}, body, REQ) is None
    assert parse_empty(204, {}, body, REQ) is None


def test_parse_empty_rejects_non_json_2xx_and_raises_errors() -> None:
    with pytest.raises(MalformedResponseError):
        parse_empty(200, {}, b"<html>captive portal</html>", REQ)
    with pytest.raises(Unavailable):
        parse_empty(503, {}, b"", REQ)


def test_raise_for_status() -> None:
    raise_for_status(200, {}, b"", REQ)
    raise_for_status(299, {}, b"", REQ)
    with pytest.raises(Unavailable):
        raise_for_status(502, {"content-type": "text/html"}, b"<h1>502</h1>", REQ)
    with pytest.raises(Unimplemented):
        raise_for_status(501, {}, b"", REQ)


# -- durations ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(10, "10s"), (10.0, "10s"), (0.5, "0.5s"), (12.5, "12.5s"), (0, "0s"), (1e-9, "0.000000001s"), (0.1, "0.1s")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(("text", "seconds"), [("2s", 2.0), ("1.500s", 1.5), ("0.000000001s", 1e-9), ("-0.5s", -0.5)])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["2", "s", "1.s", "1.0000000001s", "2m", "", "1e3s", None])
def test_parse_duration_rejects(text: object) -> None:
    with pytest.raises(ValueError, match="Duration"):
        parse_duration(text)  # type: ignore[arg-type]


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False))
def test_duration_round_trip(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds, abs=1e-9)

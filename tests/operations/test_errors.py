"""From an HTTP error response to the right exception class, with nothing secret in its text."""

from __future__ import annotations

import copy
import json
import pickle
from datetime import datetime, timezone

import httpx
import pytest
from requests.structures import CaseInsensitiveDict

from airflow_provider_gcp_ops.operations import errors
from airflow_provider_gcp_ops.operations.codes import HTTP_TO_RPC, RpcCode
from airflow_provider_gcp_ops.operations.errors import (
    ApiError,
    ConnectionFailed,
    InvalidOperationNameError,
    MalformedResponseError,
    NotFound,
    OperationsError,
    RequestTimeout,
    ResourceExhausted,
    TransportError,
    Unavailable,
    Unimplemented,
    Unknown,
    WaitTimeout,
    error_from_response,
    parse_retry_after,
    unimplemented_verb,
)

URL = "https://dataproc.googleapis.com/v1/projects/p/regions/r/operations/abc"
TOKEN = "ya29.a0AfB_SECRET_TOKEN_VALUE"
CLASS_NAMES = {
    "CANCELLED": "Cancelled",
    "UNKNOWN": "Unknown",
    "INVALID_ARGUMENT": "InvalidArgument",
    "DEADLINE_EXCEEDED": "DeadlineExceeded",
    "NOT_FOUND": "NotFound",
    "ALREADY_EXISTS": "AlreadyExists",
    "PERMISSION_DENIED": "PermissionDenied",
    "RESOURCE_EXHAUSTED": "ResourceExhausted",
    "FAILED_PRECONDITION": "FailedPrecondition",
    "ABORTED": "Aborted",
    "OUT_OF_RANGE": "OutOfRange",
    "UNIMPLEMENTED": "Unimplemented",
    "INTERNAL": "Internal",
    "UNAVAILABLE": "Unavailable",
    "DATA_LOSS": "DataLoss",
    "UNAUTHENTICATED": "Unauthenticated",
}


def google_error(http: int, status: str | None, message: str = "boom", details: list[object] | None = None) -> bytes:
    err: dict[str, object] = {"code": http, "message": message}
    if status is not None:
        err["status"] = status
    if details is not None:
        err["details"] = details
    return json.dumps({"error": err}).encode()


def build(status: int, body: bytes | str, headers: dict[str, str] | None = None, **kw: object) -> ApiError:
    return error_from_response(status, headers or {}, body, method="GET", url=URL, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("code", [c for c in RpcCode if c is not RpcCode.OK])
def test_each_rpc_status_name_has_its_class(code: RpcCode) -> None:
    # Deliberately a "wrong" HTTP status: the body's status name wins.
    exc = build(400, google_error(400, code.name))
    cls = getattr(errors, CLASS_NAMES[code.name])
    assert type(exc) is cls
    assert cls.code is code
    assert exc.rpc_status == code.name
    assert exc.rpc_code is code
    assert exc.http_status == 400
    assert isinstance(exc, ApiError)
    assert isinstance(exc, OperationsError)


@pytest.mark.parametrize(("http", "code"), sorted(HTTP_TO_RPC.items()))
def test_http_status_decides_when_the_body_names_nothing(http: int, code: RpcCode) -> None:
    exc = build(http, google_error(http, None))
    assert type(exc) is errors.error_class_for(code)
    assert exc.rpc_status == code.name
    assert exc.http_status == http


@pytest.mark.parametrize("status_name", ["NOT_A_CODE", "", "404", "OK"])
def test_unusable_status_names_fall_back_to_http(status_name: str) -> None:
    assert type(build(404, google_error(404, status_name))) is NotFound


@pytest.mark.parametrize("http", [418, 405, 507])
def test_unmapped_http_status_is_unknown(http: int) -> None:
    exc = build(http, b"")
    assert type(exc) is Unknown
    assert exc.http_status == http


def test_str_is_one_line_with_method_and_url_without_query() -> None:
    exc = error_from_response(
        404,
        {},
        google_error(404, "NOT_FOUND", "Operation\n  not found"),
        method="GET",
        url=URL + "?alt=json&access_token=" + TOKEN,
    )
    assert str(exc) == f"404 NOT_FOUND: Operation not found (GET {URL})"
    assert exc.url == URL
    assert exc.message == "Operation\n  not found"
    assert TOKEN not in repr(exc)


def test_html_502_from_a_proxy() -> None:
    page = (
        "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title><style>body{color:red}</style></head>"
        "<body>\n<h1>Bad   Gateway</h1>\n<p>The server encountered a temporary error &amp; could not complete"
        " your request.</p>" + "<p>padding</p>" * 100 + "</body></html>"
    )
    exc = build(502, page.encode(), {"Content-Type": "text/html; charset=UTF-8"})
    assert type(exc) is Unavailable
    assert exc.http_status == 502
    assert "non-JSON" in exc.message
    assert "text/html" in exc.message
    assert "502 Bad Gateway Bad Gateway The server encountered a temporary error & could not" in exc.message
    assert "<" not in exc.message
    assert "color:red" not in exc.message
    assert len(exc.message) < 320
    assert "\n" not in str(exc)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "empty body"),
        (b"   \n", "empty body"),
        (b'{"unexpected": true}', "not a Google error"),
        (b'{"error": {"code": 503}}', "no message"),
        (b"\xff\xfe garbage", "non-JSON"),
    ],
)
def test_odd_bodies_still_give_a_clear_error(body: bytes, fragment: str) -> None:
    exc = build(503, body)
    assert type(exc) is Unavailable
    assert fragment in exc.message


def test_list_wrapped_error() -> None:
    body = json.dumps([{"error": {"code": 404, "message": "gone", "status": "NOT_FOUND"}}]).encode()
    exc = build(404, body)
    assert type(exc) is NotFound
    assert exc.message == "gone"


def test_oauth_style_error() -> None:
    body = json.dumps({"error": "invalid_grant", "error_description": "Token has been expired"}).encode()
    exc = build(401, body)
    assert type(exc) is errors.Unauthenticated
    assert exc.message == "invalid_grant: Token has been expired"
    assert exc.reason == "invalid_grant"


def test_error_info_and_details() -> None:
    details = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "SERVICE_DISABLED",
            "domain": "googleapis.com",
            "metadata": {"service": "dataproc.googleapis.com"},
        },
        {"@type": "type.googleapis.com/google.rpc.Help", "links": []},
        "not a dict",
    ]
    exc = build(403, google_error(403, "PERMISSION_DENIED", "disabled", details))
    assert exc.reason == "SERVICE_DISABLED"
    assert exc.domain == "googleapis.com"
    assert len(exc.details) == 2
    assert exc.details[0]["metadata"] == {"service": "dataproc.googleapis.com"}


def test_legacy_errors_reason() -> None:
    body = json.dumps(
        {"error": {"code": 404, "message": "nope", "errors": [{"reason": "notFound", "domain": "global"}]}}
    ).encode()
    exc = build(404, body)
    assert exc.reason == "notFound"
    assert exc.domain == "global"


@pytest.mark.parametrize(("delay", "seconds"), [("2s", 2.0), ("2.5s", 2.5), ("0.000000001s", 1e-9)])
def test_retry_info(delay: str, seconds: float) -> None:
    details = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}]
    exc = build(429, google_error(429, "RESOURCE_EXHAUSTED", "slow down", details))
    assert type(exc) is ResourceExhausted
    assert exc.retry_delay == pytest.approx(seconds)


def test_retry_info_in_object_form() -> None:
    details = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": {"seconds": 3, "nanos": 5e8}}]
    assert build(503, google_error(503, "UNAVAILABLE", "x", details)).retry_delay == pytest.approx(3.5)


@pytest.mark.parametrize("bad", ["soon", "-1s", "2", {"seconds": "x"}, None])
def test_unusable_retry_info_is_ignored(bad: object) -> None:
    details = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": bad}]
    assert build(503, google_error(503, "UNAVAILABLE", "x", details)).retry_delay is None


def test_retry_after_seconds() -> None:
    assert build(503, b"", {"Retry-After": "7"}).retry_delay == 7.0


def test_retry_after_http_date() -> None:
    now = datetime(2024, 4, 1, 12, 0, 0, tzinfo=timezone.utc)
    exc = build(503, b"", {"retry-after": "Mon, 01 Apr 2024 12:00:30 GMT"}, now=now)
    assert exc.retry_delay == 30.0
    past = build(503, b"", {"retry-after": "Mon, 01 Apr 2024 11:00:00 GMT"}, now=now)
    assert past.retry_delay == 0.0


def test_retry_after_and_retry_info_take_the_larger() -> None:
    details = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"}]
    body = google_error(429, "RESOURCE_EXHAUSTED", "x", details)
    assert build(429, body, {"Retry-After": "5"}).retry_delay == 5.0
    assert build(429, body, {"Retry-After": "1"}).retry_delay == 2.0


@pytest.mark.parametrize("value", ["", "soon", "-3", "Mon, 99 Foo 2024", "1e9999"])
def test_bad_retry_after_is_ignored(value: str) -> None:
    assert parse_retry_after(value) is None
    assert build(503, b"", {"Retry-After": value}).retry_delay is None


@pytest.mark.parametrize(
    "headers",
    [
        {"RETRY-AFTER": "4", "Authorization": f"Bearer {TOKEN}"},
        CaseInsensitiveDict({"Retry-After": "4", "authorization": f"Bearer {TOKEN}"}),
        httpx.Headers({"retry-after": "4", "Authorization": f"Bearer {TOKEN}"}),
    ],
    ids=["dict", "requests", "httpx"],
)
def test_header_lookup_is_case_insensitive_and_tokens_never_leak(headers: object) -> None:
    exc = error_from_response(
        503,
        headers,  # type: ignore[arg-type]
        b"<html>oops</html>",
        method="GET",
        url=f"https://user:{TOKEN}@dataproc.googleapis.com/v1/x?access_token={TOKEN}#frag",
    )
    assert exc.retry_delay == 4.0
    for text in (str(exc), repr(exc), exc.url or "", str(exc.args)):
        assert TOKEN not in text
        assert "access_token" not in text
    assert exc.url == "https://dataproc.googleapis.com/v1/x"


def test_describe_style_url_does_not_repeat_the_method() -> None:
    exc = error_from_response(404, {}, b"", method="GET", url=f"GET {URL}")
    assert str(exc).endswith(f"(GET {URL})")


def test_local_error_without_http_status() -> None:
    exc = NotFound("nothing here")
    assert str(exc) == "NOT_FOUND: nothing here"
    assert exc.http_status is None
    assert exc.url is None
    assert exc.details == ()


def test_errors_pickle_and_copy() -> None:
    details = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"}]
    exc = build(429, google_error(429, "RESOURCE_EXHAUSTED", "slow", details))
    for clone in (pickle.loads(pickle.dumps(exc)), copy.copy(exc)):
        assert type(clone) is ResourceExhausted
        assert str(clone) == str(exc)
        assert clone.retry_delay == 2.0
        assert clone.details == exc.details
    timeout = pickle.loads(pickle.dumps(RequestTimeout("read timed out", method="GET", url=URL)))
    assert type(timeout) is RequestTimeout
    assert timeout.url == URL


def test_unimplemented_verb_is_local_and_says_so() -> None:
    exc = unimplemented_verb("Cloud Composer", "cancel")
    assert type(exc) is Unimplemented
    assert exc.http_status is None
    assert "service table" in str(exc)
    assert "Cloud Composer" in str(exc)
    assert "'cancel'" in str(exc)
    assert "no request was sent" in str(exc)


def test_transport_errors() -> None:
    for cls in (ConnectionFailed, RequestTimeout):
        exc = cls("connection reset", method="POST", url=URL + ":cancel?alt=json")
        assert isinstance(exc, TransportError)
        assert isinstance(exc, OperationsError)
        assert str(exc) == f"connection reset (POST {URL}:cancel)"
        assert exc.method == "POST"


def test_wait_timeout_carries_the_operation() -> None:
    sentinel = object()
    exc = WaitTimeout("still running", operation=sentinel)
    assert exc.operation is sentinel
    assert str(exc) == "still running"
    assert WaitTimeout("x").operation is None


def test_value_error_subclasses() -> None:
    assert issubclass(InvalidOperationNameError, ValueError)
    assert issubclass(InvalidOperationNameError, OperationsError)
    assert issubclass(MalformedResponseError, ValueError)
    assert InvalidOperationNameError("bad", value="x").value == "x"


def test_very_long_messages_are_bounded() -> None:
    exc = build(500, google_error(500, "INTERNAL", "x" * 5000))
    assert len(str(exc)) < 1200
    assert exc.message == "x" * 5000

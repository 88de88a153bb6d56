"""The method-call builder behind StartOperationOperator, and the retry rule for a call that must not run twice."""

from __future__ import annotations

import socket
from datetime import datetime
from typing import Any

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from airflow_provider_gcp_ops.operations.errors import (
    ConnectionFailed,
    InvalidOperationNameError,
    RequestTimeout,
    ResourceExhausted,
    Unavailable,
)
from airflow_provider_gcp_ops.operations.methods import (
    START_RETRY,
    StartRetryPolicy,
    failed_before_send,
    method_request,
    start_retry,
)
from airflow_provider_gcp_ops.operations.retry import DEFAULT_RETRY, RetryPolicy
from airflow_provider_gcp_ops.operations.sync_client import OperationsClient

DATAPROC_BATCHES = "v1/projects/p/locations/us-central1/batches"


def test_relative_path_with_service_gets_the_regional_host() -> None:
    req = method_request("post", DATAPROC_BATCHES, service="dataproc", body={"x": 1}, query={"batchId": "b"})
    assert (req.method, req.host, req.path) == ("POST", "us-central1-dataproc.googleapis.com", "/" + DATAPROC_BATCHES)
    assert req.url() == f"https://us-central1-dataproc.googleapis.com/{DATAPROC_BATCHES}?batchId=b"
    assert (req.json, req.has_body) == ({"x": 1}, True)


def test_rest_url_selects_the_service_and_keeps_its_host_and_custom_verb() -> None:
    req = method_request("POST", "https://spanner.googleapis.com/v1/projects/p/instances/i/databases:restore")
    assert req.url() == "https://spanner.googleapis.com/v1/projects/p/instances/i/databases:restore"
    assert req.json == {}  # a POST without a body sends {}


def test_segments_are_percent_encoded_once() -> None:
    req = method_request("POST", "v1/projects/p/locations/global/things/é", service="datafusion")
    assert req.path == "/v1/projects/p/locations/global/things/%C3%A9"


def test_query_values_booleans_lists_and_request_ids() -> None:
    req = method_request(
        "GET", "v1/projects/p/regions/r/clusters", service="dataproc", query={"a": True, "b": [1, "x"]}
    )
    assert req.query == (("a", "true"), ("b", "1"), ("b", "x"))
    assert (req.json, req.has_body) == (None, False)


@pytest.mark.parametrize(
    ("path", "service", "problem"),
    [
        ("v1/projects/../batches", "dataproc", "dot segment"),
        ("v1/projects/p//batches", "dataproc", "empty path segment"),
        ("https://evil.example.com/v1/projects/p/batches", None, "not an endpoint of any service"),
        ("https://user@dataproc.googleapis.com/v1/projects/p", None, "userinfo"),
        ("https://10.0.0.1/v1/projects/p", None, "IP literal"),
        ("https://dataproc.googleapis.com:8443/v1/projects/p", None, "port"),
        ("http://dataproc.googleapis.com/v1/projects/p", None, "only https"),
        ("https://dataproc.googleapis.com/v1/projects/p?key=secret", None, "query string"),
        (DATAPROC_BATCHES + "?key=secret", "dataproc", "pass query parameters"),
        ("v1/projects/p:x/locations/l/batches", "dataproc", "':' may only"),
        ("v1/projects/p/locations/l/batches:", "dataproc", "collection:verb"),
        ("v1", "dataproc", "{version}/{resource path}"),
        ("projects/p/locations/l/batches", "dataproc", "not an API version"),
        ("v9/projects/p/locations/l/batches", "dataproc", "no API version 'v9'"),
        (DATAPROC_BATCHES, None, "needs service="),
        (DATAPROC_BATCHES, "nope", "unknown service"),
        ("https://spanner.googleapis.com/v1/projects/p/instances/i/databases", "dataproc", "belongs to service"),
        ("//dataproc.googleapis.com/projects/p/regions/r/clusters", "dataproc", "full resource name"),
        ("v1/projects/p/loc ations/l/batches", "dataproc", "whitespace"),
        ("v1/projects/p/locations/%2e%2e/batches", "dataproc", "'%'"),
        ("", "dataproc", "empty"),
    ],
)
def test_rejections_are_typed_and_name_the_problem(path: str, service: str | None, problem: str) -> None:
    with pytest.raises(InvalidOperationNameError) as info:
        method_request("POST", path, service=service)
    assert problem in str(info.value)
    assert "secret" not in str(info.value)


def test_api_version_must_agree_with_the_path() -> None:
    with pytest.raises(InvalidOperationNameError, match="api_version='v1beta1'"):
        method_request("POST", DATAPROC_BATCHES, service="dataproc", api_version="v1beta1")


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"method": "TRACE"}, "invalid HTTP method"),
        ({"method": "GET", "body": {"a": 1}}, "has no body"),
        ({"body": ["not", "an", "object"]}, "JSON object"),
        ({"body": {"when": datetime(2024, 1, 1)}}, "not JSON-serialisable"),
        ({"body": {"x": float("nan")}}, "not JSON-serialisable"),
        ({"query": {"bad key": "v"}}, "query parameter name"),
        ({"query": {"k": {"nested": 1}}}, "must be a string, number or boolean"),
    ],
)
def test_bad_calls_fail_before_any_request(kwargs: dict[str, Any], problem: str) -> None:
    method = kwargs.pop("method", "POST")
    with pytest.raises(InvalidOperationNameError, match=problem):
        method_request(method, DATAPROC_BATCHES, service="dataproc", **kwargs)


def test_an_explicit_endpoint_replaces_the_host() -> None:
    req = method_request("POST", DATAPROC_BATCHES, service="dataproc", endpoint="dataproc.internal:8443")
    assert req.host == "dataproc.internal:8443"


# -- retries ------------------------------------------------------------------------------------------------


def _connection_error_with(cause: BaseException) -> ConnectionFailed:
    try:
        try:
            raise cause
        except BaseException:
            raise ConnectionFailed("connection failed", method="POST", url="https://x/v1/y") from None
    except ConnectionFailed as exc:
        return exc


def test_start_retry_only_retries_what_proves_nothing_was_sent() -> None:
    refused = requests.ConnectionError(MaxRetryError(None, "/", NewConnectionError(None, "refused")))  # type: ignore[arg-type]
    reset = requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError()))
    policy = START_RETRY
    assert isinstance(policy, StartRetryPolicy)
    assert policy.is_retryable(ResourceExhausted("quota", http_status=429))
    assert not policy.is_retryable(Unavailable("down", http_status=503))
    assert policy.is_retryable(_connection_error_with(refused))
    assert not policy.is_retryable(_connection_error_with(reset))
    read_timeout = _connection_error_with(requests.ReadTimeout("slow"))
    assert not failed_before_send(read_timeout)
    connect_timeout = RequestTimeout("timed out", method="POST", url="https://x")
    connect_timeout.__context__ = requests.ConnectTimeout("no route")
    assert policy.is_retryable(connect_timeout)
    assert not policy.is_retryable(ValueError("not ours"))


def test_start_retry_keeps_the_base_timings_and_is_the_base_when_idempotent() -> None:
    base = RetryPolicy(max_attempts=3, initial_backoff=0.01, deadline=5)
    assert start_retry(idempotent=True, base=base) is base
    assert start_retry(idempotent=True) is DEFAULT_RETRY
    strict = start_retry(idempotent=False, base=base)
    assert isinstance(strict, StartRetryPolicy)
    assert (strict.max_attempts, strict.initial_backoff, strict.deadline) == (3, 0.01, 5)
    # The bounded copy a client makes per call keeps the strict rule.
    assert isinstance(strict.with_deadline(123.0), StartRetryPolicy)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_refused_connection_is_retried_over_real_sockets() -> None:
    sleeps: list[float] = []
    policy = start_retry(idempotent=False, base=RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.01))
    client = OperationsClient(emulator_host=f"127.0.0.1:{_closed_port()}", retry=policy, sleep=sleeps.append)
    with pytest.raises(ConnectionFailed):
        client.start("POST", DATAPROC_BATCHES, service="dataproc", body={})
    assert len(sleeps) == 2  # three attempts: nothing ever reached a server

"""Every verb of both clients against misbehaving servers: a typed error, within the deadline (+1 s), only the
expected requests, and never the planted token in an error or a log record."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

import google.oauth2.credentials
import pytest

from airflow_provider_gcp_ops.operations.async_client import AsyncOperationsClient
from airflow_provider_gcp_ops.operations.client_base import Timeouts
from airflow_provider_gcp_ops.operations.errors import (
    ApiError,
    ConnectionFailed,
    InvalidOperationNameError,
    MalformedResponseError,
    OperationsError,
    RequestTimeout,
    Unauthenticated,
    WaitTimeout,
)
from airflow_provider_gcp_ops.operations.limits import ListingTooLong, ResponseTooLarge
from airflow_provider_gcp_ops.operations.retry import RetryPolicy
from airflow_provider_gcp_ops.operations.sync_client import OperationsClient

from .server import PLANTED_TOKEN, HostileServer, never_accepting_listener

NAME = "projects/p/regions/us-central1/operations/op"
# Clients address an emulator-style base URL with the service's host as the first path segment (core.HttpRequest).
API_PREFIX = "/us-central1-dataproc.googleapis.com/v1/"
OP_PATH = API_PREFIX + NAME
PARENT = "projects/p/regions/us-central1"
DEADLINE = 1.0
SLACK = 1.0
# Per-read timeouts far longer than the deadline: only a per-call bound can end these calls in time.
SLOW_READS = Timeouts(connect=10.0, read=30.0)
RETRY = RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.05, deadline=30.0)


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    srv = HostileServer().start()
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _reset(server: HostileServer, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    server.mode, server.token_mode = "ok", "token_ok"
    server.requests.clear()
    caplog.set_level(logging.DEBUG)
    yield
    for record in caplog.records:
        assert PLANTED_TOKEN not in record.getMessage()


def credentials(server: HostileServer) -> Any:
    """Real google-auth user credentials whose token endpoint is the hostile server."""
    return google.oauth2.credentials.Credentials(
        token=None, refresh_token="r", client_id="c", client_secret="s", token_uri=server.token_uri
    )


def call(flavour: str, verb: str, host: str, *, creds: Any = None, timeout: float = DEADLINE, **kw: Any) -> Any:
    settings: dict[str, Any] = {"emulator_host": host, "timeouts": SLOW_READS, "retry": RETRY}
    if flavour == "sync":
        with OperationsClient(credentials=creds, **settings) as client:
            if verb == "list":
                return list(client.list(PARENT, timeout=timeout, **kw))
            return getattr(client, verb)(NAME, timeout=timeout)

    async def run() -> Any:
        async with AsyncOperationsClient(credentials=creds, **settings) as client:
            if verb == "list":
                return [op async for op in client.list(PARENT, timeout=timeout, **kw)]
            return await getattr(client, verb)(NAME, timeout=timeout)

    return asyncio.run(run())


def expect(
    expected: type[BaseException] | tuple[type[BaseException], ...],
    flavour: str,
    verb: str,
    host: str,
    *,
    bound: float = DEADLINE + SLACK,
    **kw: Any,
) -> OperationsError:
    started = time.monotonic()
    with pytest.raises(OperationsError) as info:
        call(flavour, verb, host, **kw)
    elapsed = time.monotonic() - started
    assert isinstance(info.value, expected), repr(info.value)
    assert elapsed < bound, f"{flavour} {verb}: {elapsed:.2f} s"
    assert PLANTED_TOKEN not in str(info.value) and PLANTED_TOKEN not in repr(info.value)
    return info.value


FLAVOURS = ["sync", "async"]


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("mode", ["drip_headers", "drip_body", "continue_forever", "silent"])
def test_a_slow_server_ends_at_the_deadline(server: HostileServer, flavour: str, mode: str) -> None:
    server.mode = mode
    expect(RequestTimeout, flavour, "get", server.host)
    assert set(server.requests) == {f"GET {OP_PATH}"}


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("verb", ["wait", "list", "cancel"])
def test_every_verb_ends_at_the_deadline(server: HostileServer, flavour: str, verb: str) -> None:
    server.mode = "drip_body"
    # A wait rides out transient failures (a timed-out poll is one) until its deadline: then WaitTimeout.
    expect(WaitTimeout if verb == "wait" else RequestTimeout, flavour, verb, server.host)
    assert server.requests and all(r.split(" ", 1)[1].startswith(API_PREFIX) for r in server.requests)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_server_that_never_accepts_is_bounded_by_the_deadline(flavour: str) -> None:
    listener, fillers = never_accepting_listener()
    try:
        host = f"127.0.0.1:{listener.getsockname()[1]}"
        expect((RequestTimeout, ConnectionFailed), flavour, "get", host)
    finally:
        for s in [*fillers, listener]:
            s.close()


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("token_mode", ["silent", "drip_headers", "drip_body"])
def test_a_token_endpoint_that_hangs_is_bounded_by_the_callers_deadline(
    server: HostileServer, flavour: str, token_mode: str
) -> None:
    server.token_mode = token_mode
    expect((RequestTimeout, ConnectionFailed), flavour, "get", server.host, creds=credentials(server))
    assert server.requests and set(server.requests) <= {"POST /token"}


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_token_endpoint_error_body_never_reaches_the_error(server: HostileServer, flavour: str) -> None:
    server.token_mode = "token_error"
    expect(Unauthenticated, flavour, "get", server.host, creds=credentials(server))
    assert set(server.requests) == {"POST /token"}


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_the_planted_token_is_sent_but_never_logged(server: HostileServer, flavour: str) -> None:
    op = call(flavour, "get", server.host, creds=credentials(server))
    assert op.done
    assert server.requests == ["POST /token", f"GET {OP_PATH}"]


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("huge_body", ResponseTooLarge),
        ("gzip_bomb", ResponseTooLarge),
        ("bad_gzip", MalformedResponseError),
        ("truncated_gzip", MalformedResponseError),
        ("bad_chunked", (MalformedResponseError, ConnectionFailed)),
        ("short_body", ConnectionFailed),
        ("deep_json", MalformedResponseError),
        ("deep_json_error", ApiError),
        ("superscript_code", ApiError),
        ("long_code", ApiError),
        ("long_header", (MalformedResponseError, ConnectionFailed)),
        ("many_headers", (MalformedResponseError, ConnectionFailed)),
    ],
)
def test_a_malformed_response_is_a_typed_error(
    server: HostileServer, flavour: str, mode: str, expected: type[BaseException]
) -> None:
    server.mode = mode
    expect(expected, flavour, "get", server.host, timeout=5.0, bound=5.0)
    assert set(server.requests) == {f"GET {OP_PATH}"}


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("mode", ["huge_retry_after", "huge_retry_info"])
def test_a_huge_retry_delay_is_bounded_by_the_deadline(server: HostileServer, flavour: str, mode: str) -> None:
    server.mode = mode
    expect(ApiError, flavour, "get", server.host)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_listing_that_never_ends_stops_at_the_page_bound(server: HostileServer, flavour: str) -> None:
    server.mode = "endless_pages"
    expect(ListingTooLong, flavour, "list", server.host, max_pages=5)
    assert len(server.requests) == 5


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_repeated_page_token_is_a_malformed_response(server: HostileServer, flavour: str) -> None:
    server.mode = "repeated_token"
    expect(MalformedResponseError, flavour, "list", server.host)
    assert len(server.requests) == 2


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_punycode_location_is_refused_before_any_request(server: HostileServer, flavour: str) -> None:
    name = "projects/p/regions/xn--80ak6aa92e/operations/op"
    settings: dict[str, Any] = {"timeouts": SLOW_READS, "retry": RETRY, "emulator_host": server.host}

    def run() -> None:
        if flavour == "sync":
            OperationsClient(**settings).get(name, service="dataproc")
        else:
            asyncio.run(AsyncOperationsClient(**settings).get(name, service="dataproc"))

    with pytest.raises(InvalidOperationNameError):
        run()
    assert server.requests == []


def test_an_endpoint_the_async_client_cannot_encode_is_a_typed_error() -> None:
    # Punycode that is not IDNA: yarl fails to encode the host before any connection (no DNS lookup either).
    async def run() -> None:
        async with AsyncOperationsClient(emulator_host=None, endpoint="xn--zz:1", token_source=_NoTokens()) as client:
            await client.get(NAME, service="dataproc", timeout=DEADLINE)

    with pytest.raises(ConnectionFailed, match="invalid request URL"):
        asyncio.run(run())


class _NoTokens:
    async def headers(self) -> dict[str, str]:
        return {}

    async def refresh_after_unauthenticated(self, sent: dict[str, str]) -> bool:
        return False


def test_a_finished_call_leaves_its_pooled_connection_alone(server: HostileServer) -> None:
    """The watchdog fires only calls still running: a connection back in the pool survives its old deadline."""
    with OperationsClient(emulator_host=server.host, timeouts=SLOW_READS, retry=RETRY) as client:
        for _ in range(20):
            assert client.get(NAME, timeout=0.3).done
        time.sleep(0.5)  # every deadline above has passed
        started = time.monotonic()
        assert client.get(NAME, timeout=5.0).done
        assert time.monotonic() - started < 0.5
    assert len(server.requests) == 21  # no request failed and was retried

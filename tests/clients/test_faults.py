"""The retry policy at work over real HTTP: the emulator's counters prove how many attempts were made."""

from __future__ import annotations

import time

import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer
from airflow_provider_gcp_ops.operations.client_base import Timeouts
from airflow_provider_gcp_ops.operations.errors import (
    ConnectionFailed,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    RequestTimeout,
    Unavailable,
    WaitTimeout,
)
from airflow_provider_gcp_ops.operations.retry import NO_RETRY, RetryPolicy

from .conftest import settings_for
from .flavours import Flavour
from .stats import route_count


@pytest.mark.parametrize("kind", ["429", "500", "502", "503", "reset"])
def test_transient_faults_are_retried_until_success(flavour: Flavour, emu: EmulatorServer, kind: str) -> None:
    created = emu.admin.create_operation(service="dataproc", duration_s=600)
    emu.admin.set_faults([{"route": "get", "kind": kind, "probability": 1.0, "count": 2, "retry_after_s": 0.2}])
    op = flavour.call("get", created["name"], service="dataproc")
    assert op.name == created["name"]
    assert route_count(emu, "get", created["name"]) == 3  # two faults, then the answer
    assert len(flavour.sleeps) == 2


def test_retry_after_is_honoured(flavour: Flavour, emu: EmulatorServer) -> None:
    created = emu.admin.create_operation(service="datafusion", duration_s=600)
    emu.admin.set_faults([{"route": "get", "kind": "429", "probability": 1.0, "count": 1, "retry_after_s": 3}])
    flavour.call("get", created["name"], service="datafusion")
    # FAST_RETRY's own backoff is at most 0.05 s: the 3 s comes from Retry-After / RetryInfo.
    assert flavour.sleeps == [pytest.approx(3.0, abs=0.01)] or flavour.sleeps[0] >= 3.0


def test_stall_beyond_read_timeout_is_a_timeout_then_retried(flavour: Flavour, emu: EmulatorServer) -> None:
    created = emu.admin.create_operation(service="spanner", duration_s=600)
    emu.admin.set_faults([{"route": "get", "kind": "stall", "probability": 1.0, "count": 1, "stall_s": 5}])
    flavour.settings["timeouts"] = Timeouts(connect=1.0, read=0.3)
    started = time.monotonic()
    op = flavour.call("get", created["name"], service="spanner")
    assert op.name == created["name"]
    assert time.monotonic() - started < 4.5  # well before the 5 s stall ends: the timeout cut it
    assert len(flavour.sleeps) == 1


@pytest.mark.parametrize(
    ("kind", "error"), [("503", Unavailable), ("reset", ConnectionFailed), ("stall", RequestTimeout)]
)
def test_retries_are_bounded_by_attempts(flavour: Flavour, emu: EmulatorServer, kind: str, error: type) -> None:
    created = emu.admin.create_operation(service="dataproc", duration_s=600)
    emu.admin.set_faults([{"route": "get", "kind": kind, "probability": 1.0, "stall_s": 5}])
    flavour.settings["retry"] = RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.02, deadline=20)
    flavour.settings["timeouts"] = Timeouts(connect=1.0, read=0.3)
    with pytest.raises(error):
        flavour.call("get", created["name"], service="dataproc")
    assert route_count(emu, "get", created["name"]) == 3


def test_a_stalled_server_never_holds_a_wait_past_its_deadline(flavour: Flavour, emu: EmulatorServer) -> None:
    created = emu.admin.create_operation(service="dataproc", duration_s=600)
    emu.admin.set_faults([{"route": "get", "kind": "stall", "probability": 1.0, "stall_s": 10}])
    started = time.monotonic()
    with pytest.raises((RequestTimeout, WaitTimeout)):
        flavour.call("wait", created["name"], service="dataproc", timeout=1.0)
    assert time.monotonic() - started < 5.0  # the stall lasts 10 s: the 1 s deadline cut it


def test_permission_denied_is_not_retried(flavour: Flavour, emu: EmulatorServer) -> None:
    created = emu.admin.create_operation(service="datafusion", project="locked-project", duration_s=600)
    emu.admin.configure(denied_projects=["locked-project"])
    with pytest.raises(PermissionDenied) as info:
        flavour.call("get", created["name"], service="datafusion")
    assert info.value.http_status == 403
    assert route_count(emu, "get", created["name"]) == 1
    assert flavour.sleeps == []


def test_not_found_is_not_retried(flavour: Flavour, emu: EmulatorServer) -> None:
    name = "projects/demo-project/regions/us-central1/operations/never-existed"
    with pytest.raises(NotFound):
        flavour.call("get", name, service="dataproc")
    assert route_count(emu, "get") == 1
    assert flavour.sleeps == []


def test_invalid_argument_is_not_retried(flavour: Flavour, emu: EmulatorServer) -> None:
    with pytest.raises(InvalidArgument):
        flavour.call("list", "projects/p/locations/us-central1", service="datalineage", filter="((( nonsense")
    assert route_count(emu, "list") == 1


def test_no_retry_policy_makes_exactly_one_attempt(emu: EmulatorServer) -> None:
    created = emu.admin.create_operation(service="dataproc", duration_s=600)
    emu.admin.set_faults([{"route": "get", "kind": "503", "probability": 1.0}])
    with pytest.raises(Unavailable):
        Flavour("sync", settings_for(emu, retry=NO_RETRY)).call("get", created["name"], service="dataproc")
    assert route_count(emu, "get", created["name"]) == 1


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("where", ["refused", "reset"])
def test_a_failed_call_says_whether_it_left_the_client(flavour: Flavour, emu: EmulatorServer, where: str) -> None:
    # A non-idempotent start may be retried only when nothing was sent: both transports must tell the two apart.
    from airflow_provider_gcp_ops.operations.methods import failed_before_send

    created = emu.admin.create_operation(service="dataproc", duration_s=600)
    flavour.settings["retry"] = NO_RETRY
    if where == "refused":
        flavour.settings["emulator_host"] = f"127.0.0.1:{_closed_port()}"
    else:
        emu.admin.set_faults([{"route": "get", "kind": "reset", "probability": 1.0}])
    with pytest.raises(ConnectionFailed) as info:
        flavour.call("get", created["name"], service="dataproc")
    assert failed_before_send(info.value) is (where == "refused")

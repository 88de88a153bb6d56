"""A token refresh that fails, through both clients: google-auth's real flow against the emulator's token endpoint.

google-auth's ``RefreshError`` / ``TransportError`` must come out as the library's typed errors (one mapping,
``operations.auth.auth_error``), so waits ride out a token endpoint's outage like any other and nothing escapes
raw into a trigger.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer
from airflow_provider_gcp_ops.emulator.oauth import service_account_key
from airflow_provider_gcp_ops.operations.errors import ConnectionFailed, Unauthenticated, Unavailable
from airflow_provider_gcp_ops.operations.retry import NO_RETRY

from .conftest import settings_for
from .flavours import Flavour

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]


def key_credentials(emu: EmulatorServer, **kw: Any) -> Any:
    from google.oauth2 import service_account

    return service_account.Credentials.from_service_account_info(service_account_key(emu.url, **kw), scopes=SCOPES)


@pytest.fixture(params=["sync", "async"])
def keyed(request: pytest.FixtureRequest, emu: EmulatorServer) -> Flavour:
    """A client whose requests carry tokens google-auth got from the emulator (expiring at once: every request
    refreshes first)."""
    return Flavour(request.param, settings_for(emu, credentials=key_credentials(emu, expires_in=60)))


def test_requests_carry_tokens_from_the_real_refresh_flow(keyed: Flavour, emu: EmulatorServer) -> None:
    op = emu.admin.create_operation(service="dataproc", duration_s=600)
    assert not keyed.call("get", op["name"], service="dataproc").done
    assert emu.admin.stats()["requests"]["token"] >= 1


@pytest.mark.parametrize(
    ("kind", "error"),
    [("503", Unavailable), ("429", Unavailable), ("reset", ConnectionFailed)],
)
def test_a_failing_token_endpoint_is_a_typed_transient_error(
    keyed: Flavour, emu: EmulatorServer, kind: str, error: type[Exception]
) -> None:
    op = emu.admin.create_operation(service="dataproc", duration_s=600)
    emu.admin.set_faults([{"route": "token", "kind": kind, "probability": 1.0, "retry_after_s": 0}])
    keyed.settings["retry"] = NO_RETRY  # google-auth itself tries a failing token endpoint 3 times, in ~3 s
    with pytest.raises(error) as caught:
        keyed.call("get", op["name"], service="dataproc")
    assert "token" in str(caught.value)
    assert emu.admin.stats()["requests"]["get"] == 0  # no request went out without a token


def test_a_refused_grant_is_unauthenticated(emu: EmulatorServer, keyed: Flavour) -> None:
    from google.oauth2 import service_account

    info = service_account_key(emu.url)
    info["client_email"] = "not-an-email"  # the endpoint refuses the grant: invalid_grant, not retryable
    creds = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
    flavour = Flavour(keyed.name, settings_for(emu, credentials=creds))
    with pytest.raises(Unauthenticated):
        flavour.call("get", "projects/p/regions/us-central1/operations/o", service="dataproc")


def test_a_wait_rides_out_a_token_endpoint_outage(keyed: Flavour, emu: EmulatorServer) -> None:
    op = emu.admin.create_operation(service="dataproc", duration_s=1.0)
    # One refresh fails for good (google-auth's own three tries); with one attempt per call, the wait plan's
    # outage rule is what carries the wait on to the next refresh.
    emu.admin.set_faults([{"route": "token", "kind": "503", "probability": 1.0, "count": 3}])
    keyed.settings["retry"] = NO_RETRY
    done = keyed.call("wait", op["name"], service="dataproc", timeout=60, use_server_wait=False)
    assert done.done
    assert emu.admin.faults()["rules"][0]["injected"] == 3

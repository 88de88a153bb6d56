"""The emulator's OAuth 2.0 token endpoint, driven by google-auth's real service-account refresh flow."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer
from airflow_provider_gcp_ops.emulator.oauth import JWT_BEARER, service_account_key


def credentials(emu: EmulatorServer, **kw: Any) -> Any:
    from google.oauth2 import service_account

    return service_account.Credentials.from_service_account_info(
        service_account_key(emu.url, **kw), scopes=["https://www.googleapis.com/auth/cloud-platform"]
    )


def refresh(creds: Any) -> None:
    import google.auth.transport.requests

    creds.refresh(google.auth.transport.requests.Request())


def token_requests(emu: EmulatorServer) -> int:
    return int(emu.admin.stats()["requests"].get("token", 0))


def test_the_real_refresh_flow_gets_a_token(emu: EmulatorServer) -> None:
    creds = credentials(emu)
    assert not creds.valid
    refresh(creds)
    assert creds.valid and creds.token.startswith("ya29.emulator-")
    expires_in = (creds.expiry.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)).total_seconds()
    assert 3500 < expires_in <= 3600
    assert token_requests(emu) == 1


def test_expires_in_from_the_token_uri_makes_google_auth_refresh_early(emu: EmulatorServer) -> None:
    creds = credentials(emu, expires_in=200)  # under google-auth's 3 min 45 s refresh threshold
    refresh(creds)
    assert creds.token and not creds.valid  # google-auth already wants a new one
    assert token_requests(emu) == 1


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "client_credentials", "assertion": "a.b.c"}, "unsupported_grant_type"),
        ({"grant_type": JWT_BEARER, "assertion": "not-a-jwt"}, "invalid_grant"),
        ({"grant_type": JWT_BEARER, "assertion": "e30.e30.sig"}, "invalid_grant"),  # {} header and claims
    ],
)
def test_a_bad_grant_is_refused_as_google_refuses_it(
    emu: EmulatorServer, anon: httpx.Client, form: dict[str, str], error: str
) -> None:
    response = anon.post("/token", data=form)
    assert response.status_code == 400
    assert response.json()["error"] == error


def test_a_failing_token_endpoint_raises_a_retryable_refresh_error(emu: EmulatorServer) -> None:
    import google.auth.exceptions

    emu.admin.set_faults([{"route": "token", "kind": "503", "probability": 1.0, "match": "key=flaky"}])
    creds = credentials(emu, name="flaky")
    with pytest.raises(google.auth.exceptions.RefreshError) as caught:
        refresh(creds)
    assert caught.value.retryable
    assert emu.admin.faults()["rules"][0]["injected"] >= 1
    refresh(credentials(emu, name="other"))  # the rule singles out one key


def test_a_reset_token_endpoint_is_a_transport_error(emu: EmulatorServer) -> None:
    import google.auth.exceptions

    emu.admin.set_faults([{"route": "token", "kind": "reset", "probability": 1.0}])
    with pytest.raises(google.auth.exceptions.TransportError):
        refresh(credentials(emu))

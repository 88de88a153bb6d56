"""Auth (401), rejected tokens (401), denied projects (403), and that tokens never leak."""

from __future__ import annotations

import logging

import httpx
import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer

from .conftest import TOKEN, assert_google_error


def test_no_bearer_is_401(emu: EmulatorServer, anon: httpx.Client) -> None:
    created = emu.admin.create_operation(service="dataproc", duration_s=600)
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"}, {"Authorization": "token"}):
        response = anon.get(f"/v1/{created['name']}", headers=headers)
        error = assert_google_error(response, 401, "UNAUTHENTICATED")
        assert error["details"][0]["reason"] == "CREDENTIALS_MISSING"
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_any_bearer_is_accepted(emu: EmulatorServer, anon: httpx.Client) -> None:
    created = emu.admin.create_operation(service="dataproc", duration_s=600)
    assert anon.get(f"/v1/{created['name']}", headers={"Authorization": "bearer whatever"}).status_code == 200


def test_rejected_token_is_401_and_never_echoed(
    emu: EmulatorServer, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = emu.admin.create_operation(service="spanner", duration_s=600)
    config = emu.admin.configure(rejected_tokens=[TOKEN])
    assert TOKEN not in str(config)
    response = client.get(f"/v1/{created['name']}")
    error = assert_google_error(response, 401, "UNAUTHENTICATED")
    assert error["details"][0]["reason"] == "ACCESS_TOKEN_EXPIRED"
    assert TOKEN not in response.text
    assert TOKEN not in caplog.text
    fresh = client.get(f"/v1/{created['name']}", headers={"Authorization": "Bearer fresh"})
    assert fresh.status_code == 200


def test_auth_can_be_switched_off(emu: EmulatorServer, anon: httpx.Client) -> None:
    created = emu.admin.create_operation(service="dataproc", duration_s=600)
    emu.admin.configure(auth=False)
    assert anon.get(f"/v1/{created['name']}").status_code == 200
    emu.admin.reset()  # back to the start configuration: auth on
    assert anon.get("/v1/projects/p/regions/r/operations").status_code == 401


@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("DELETE", ""), ("POST", ":cancel")])
def test_denied_project_is_403_on_every_verb(
    emu: EmulatorServer, client: httpx.Client, method: str, suffix: str
) -> None:
    created = emu.admin.create_operation(service="datafusion", project="locked", duration_s=600)
    emu.admin.configure(denied_projects=["locked"])
    response = client.request(method, f"/v1/{created['name']}{suffix}")
    error = assert_google_error(response, 403, "PERMISSION_DENIED")
    assert error["details"][0]["reason"] == "IAM_PERMISSION_DENIED"
    assert "datafusion.operations." in error["message"]


def test_denied_project_list_and_unknown_operations_are_403(emu: EmulatorServer, client: httpx.Client) -> None:
    emu.admin.configure(denied_projects=["locked"])
    assert_google_error(client.get("/v1/projects/locked/locations/l/operations"), 403, "PERMISSION_DENIED")
    # Google answers 403 (not 404) for a resource you may not see, existing or not.
    assert_google_error(client.get("/v1/projects/locked/regions/r/operations/nope"), 403, "PERMISSION_DENIED")
    assert client.get("/v1/projects/open/locations/l/operations").status_code == 200

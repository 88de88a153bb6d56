"""401 → one token refresh → one more try; never a second refresh, never a token in an error text."""

from __future__ import annotations

import asyncio
import logging

import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer
from airflow_provider_gcp_ops.operations.async_client import AsyncOperationsClient
from airflow_provider_gcp_ops.operations.errors import Unauthenticated

from .conftest import settings_for
from .fake_credentials import ListCredentials
from .flavours import Flavour
from .stats import route_count

STALE = "stale-token-0001"
FRESH = "fresh-token-0002"
ALSO_STALE = "stale-token-0003"


def test_unauthenticated_without_a_token(emu: EmulatorServer) -> None:
    import httpx

    created = emu.admin.create_operation(service="dataproc", duration_s=600)
    response = httpx.get(f"{emu.url}/v1/{created['name']}", timeout=5)
    assert response.status_code == 401
    assert response.json()["error"]["status"] == "UNAUTHENTICATED"


def test_a_401_refreshes_once_and_retries(flavour: Flavour, emu: EmulatorServer) -> None:
    emu.admin.configure(rejected_tokens=[STALE])
    created = emu.admin.create_operation(service="dataproc", duration_s=600)
    creds = ListCredentials(STALE, [FRESH])
    flavour.settings["credentials"] = creds
    assert flavour.call("get", created["name"], service="dataproc").name == created["name"]
    assert creds.refresh_count == 1
    assert route_count(emu, "get", created["name"]) == 2


def test_a_second_401_stands(flavour: Flavour, emu: EmulatorServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # urllib3, httpx, httpcore, google-auth: everything they log
    emu.admin.configure(rejected_tokens=[STALE, ALSO_STALE])
    created = emu.admin.create_operation(service="dataproc", duration_s=600)
    creds = ListCredentials(STALE, [ALSO_STALE, FRESH])
    flavour.settings["credentials"] = creds
    with pytest.raises(Unauthenticated) as info:
        flavour.call("get", created["name"], service="dataproc")
    assert creds.refresh_count == 1
    assert route_count(emu, "get", created["name"]) == 2
    assert caplog.records, "debug logging was captured"
    for token in (STALE, ALSO_STALE, FRESH):
        assert token not in str(info.value) and token not in repr(info.value)
        assert token not in caplog.text


async def test_concurrent_401s_share_one_refresh(emu: EmulatorServer) -> None:
    emu.admin.configure(rejected_tokens=[STALE])
    names = [emu.admin.create_operation(service="datafusion", duration_s=600)["name"] for _ in range(20)]
    creds = ListCredentials(STALE, [FRESH, FRESH, FRESH], refresh_delay=0.2)
    async with AsyncOperationsClient(credentials=creds, **settings_for(emu)) as client:
        ops = await asyncio.gather(*(client.get(n, service="datafusion") for n in names))
    assert [op.name for op in ops] == names
    assert creds.refresh_count == 1

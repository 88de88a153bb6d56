"""Fixtures of the emulator's own tests: the plugin's server (reset per test) and a plain httpx client."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer

TOKEN = "test-token"


@pytest.fixture
def emu(gcp_ops_emulator: EmulatorServer) -> EmulatorServer:
    return gcp_ops_emulator


@pytest.fixture
def client(emu: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=emu.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5.0, trust_env=False
    ) as c:
        yield c


@pytest.fixture
def anon(emu: EmulatorServer) -> Iterator[httpx.Client]:
    """A client without credentials."""
    with httpx.Client(base_url=emu.url, timeout=5.0, trust_env=False) as c:
        yield c


def poll_until(check: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01) -> Any:
    """Call ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s (last value {value!r})")
        time.sleep(interval)


def assert_google_error(response: httpx.Response, status: int, rpc: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == status
    assert error["status"] == rpc
    assert isinstance(error["message"], str)
    assert error["message"]
    return error

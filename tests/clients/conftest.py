from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer
from airflow_provider_gcp_ops.operations.client_base import Timeouts
from airflow_provider_gcp_ops.operations.polling import PollSchedule
from airflow_provider_gcp_ops.operations.retry import RetryPolicy

from .flavours import Flavour

# Fast but real: short timeouts and polls, retries bounded as in production but with tiny backoffs.
FAST_RETRY = RetryPolicy(max_attempts=4, initial_backoff=0.01, max_backoff=0.05, deadline=20.0)
FAST_POLL = PollSchedule(initial=0.05, maximum=0.2)


@pytest.fixture
def emu(gcp_ops_emulator: EmulatorServer) -> EmulatorServer:
    """The plugin's emulator (one per session, reset before each test)."""
    return gcp_ops_emulator


def settings_for(emu: EmulatorServer, **overrides: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "emulator_host": emu.host,
        "retry": FAST_RETRY,
        "poll": FAST_POLL,
        "timeouts": Timeouts(connect=2.0, read=5.0),
    }
    settings.update(overrides)
    return settings


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest, emu: EmulatorServer) -> Flavour:
    return Flavour(request.param, settings_for(emu))

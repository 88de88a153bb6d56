"""pytest plugin: the Operations emulator as fixtures. Opt-in: nothing loads into a pytest run unless asked.

Enable it in your ``conftest.py`` (``pytest_plugins = ["airflow_provider_gcp_ops.emulator.pytest_plugin"]``) or
on the command line (``pytest -p airflow_provider_gcp_ops.emulator.pytest_plugin``).

- ``gcp_ops_emulator_server`` (session): one running :class:`EmulatorServer` (auth on, time scale 1, seed 0).
- ``gcp_ops_emulator`` (function): the same server after ``admin.reset()``: no operations, counters, history
  or faults, and the start configuration.
- ``gcp_ops_emulator_env`` (function): as ``gcp_ops_emulator``, with ``GCP_OPERATIONS_EMULATOR_HOST`` set.

It imports nothing heavy: the server loads inside the fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from airflow_provider_gcp_ops.emulator.server import EmulatorServer

ENV_VAR = "GCP_OPERATIONS_EMULATOR_HOST"


@pytest.fixture(scope="session")
def gcp_ops_emulator_server() -> Iterator[EmulatorServer]:
    from airflow_provider_gcp_ops.emulator.server import EmulatorServer

    with EmulatorServer(host="127.0.0.1", port=0, auth=True, time_scale=1.0, seed=0) as server:
        yield server


@pytest.fixture
def gcp_ops_emulator(gcp_ops_emulator_server: EmulatorServer) -> EmulatorServer:
    gcp_ops_emulator_server.admin.reset()
    return gcp_ops_emulator_server


@pytest.fixture
def gcp_ops_emulator_env(gcp_ops_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    monkeypatch.setenv(ENV_VAR, gcp_ops_emulator.host)
    return gcp_ops_emulator

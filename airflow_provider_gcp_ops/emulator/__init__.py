"""The Operations emulator: a real HTTP server that behaves like Google's ``google.longrunning.Operations`` REST
surface for every service of the service table, with an admin API to create operations, inject faults and read
counters.

    from airflow_provider_gcp_ops.emulator import EmulatorServer
    with EmulatorServer(auth=True, time_scale=100) as emu:
        op = emu.admin.create_operation(service="dataproc", duration_s=30)

Importing this package is cheap: the server (uvicorn, starlette) loads on first use of a name below.
It imports nothing of the client library but the service table and the rpc codes: it is an independent oracle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_gcp_ops.emulator.admin_client import EmulatorAdmin, EmulatorAdminError
    from airflow_provider_gcp_ops.emulator.server import ENV_VAR, EmulatorServer

__all__ = ["ENV_VAR", "EmulatorAdmin", "EmulatorAdminError", "EmulatorServer"]

_LAZY = {
    "EmulatorServer": "airflow_provider_gcp_ops.emulator.server",
    "ENV_VAR": "airflow_provider_gcp_ops.emulator.server",
    "EmulatorAdmin": "airflow_provider_gcp_ops.emulator.admin_client",
    "EmulatorAdminError": "airflow_provider_gcp_ops.emulator.admin_client",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

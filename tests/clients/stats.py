"""Read the emulator's own counters: what actually reached the server."""

from __future__ import annotations

from typing import Any

from airflow_provider_gcp_ops.emulator import EmulatorServer


def route_count(emu: EmulatorServer, route: str, name: str | None = None) -> int:
    """Requests the emulator received on ``route`` (get/list/cancel/delete/wait), for one operation or in all."""
    stats: dict[str, Any] = emu.admin.stats()
    if name is None:
        return int(stats["requests"].get(route, 0))
    return int(stats["operations"].get(name, {}).get(route, 0))

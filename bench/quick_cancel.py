"""The quick cancel's bound against a stalled server: how long one kill-path cancel can take, both clients.

Every kill path sends one "quick cancel" (``operations/client_base.py``: ``QUICK_CANCEL_TIMEOUTS``,
``QUICK_CANCEL_RETRY``, the whole call given ``QUICK_CANCEL_TIMEOUT_S``), documented as bounded by
``QUICK_CANCEL_S`` (15 s). Here the emulator stalls every ``:cancel`` for 60 s (fault ``stall``), and the cancel is
sent exactly as the operators' ``cancel_once`` (sync client) and the trigger's ``cancel_remote`` (async client)
send it. Printed: seconds from the call to its (failed) return, per client, and whether it is within the bound.

    python bench/quick_cancel.py        # about 35 s; exits 1 when a bound is exceeded
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from airflow_provider_gcp_ops.emulator import EmulatorServer
from airflow_provider_gcp_ops.operations.async_client import AsyncOperationsClient
from airflow_provider_gcp_ops.operations.client_base import (
    QUICK_CANCEL_RETRY,
    QUICK_CANCEL_S,
    QUICK_CANCEL_TIMEOUT_S,
    QUICK_CANCEL_TIMEOUTS,
)
from airflow_provider_gcp_ops.operations.errors import OperationsError
from airflow_provider_gcp_ops.operations.sync_client import OperationsClient

QUICK = {"timeouts": QUICK_CANCEL_TIMEOUTS, "retry": QUICK_CANCEL_RETRY}


def sync_cancel(host: str, name: str) -> tuple[float, str]:
    started = time.monotonic()
    try:
        with OperationsClient(emulator_host=host, **QUICK) as client:
            client.cancel(name, service="dataproc", timeout=QUICK_CANCEL_TIMEOUT_S)
        outcome = "accepted"
    except OperationsError as exc:
        outcome = type(exc).__name__
    return time.monotonic() - started, outcome


async def async_cancel(host: str, name: str) -> tuple[float, str]:
    started = time.monotonic()
    try:
        async with AsyncOperationsClient(emulator_host=host, **QUICK) as client:
            await client.cancel(name, service="dataproc", timeout=QUICK_CANCEL_TIMEOUT_S)
        outcome = "accepted"
    except OperationsError as exc:
        outcome = type(exc).__name__
    return time.monotonic() - started, outcome


def main() -> int:
    results: dict[str, dict[str, object]] = {}
    with EmulatorServer("127.0.0.1", 0) as emu:
        emu.admin.set_faults([{"route": "cancel", "kind": "stall", "probability": 1.0, "stall_s": 60}])
        for label, run in (
            ("sync (operators' cancel_once)", lambda n: sync_cancel(emu.host, n)),
            ("async (trigger's cancel_remote)", lambda n: asyncio.run(async_cancel(emu.host, n))),
        ):
            name = emu.admin.create_operation(service="dataproc", duration_s=600)["name"]
            took, outcome = run(name)
            attempts = emu.admin.stats()["operations"][name].get("cancel", 0)
            results[label] = {"seconds": round(took, 2), "outcome": outcome, "attempts": attempts}
            ok = took <= QUICK_CANCEL_S
            print(f"{label}: {took:.2f} s ({outcome}, {attempts} attempts) bound {QUICK_CANCEL_S:g} s: {ok}")
    print(json.dumps(results))
    return 0 if all(float(str(r["seconds"])) <= QUICK_CANCEL_S for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

"""A small chaos run in the normal suite: 50 operations cancelled or watched through the operators' real paths
while the emulator fails 30 % of requests, then callers with deadlines against a stalled server.

The same code as ``make chaos`` (``bench/chaos.py``, 1,000 operations, the emulator in its own process), here on
the session's in-process emulator, with shorter durations, a 0.5 s read timeout and a 4 s stall.

Retry budget: 10 attempts per call, through the connection's ``num_retries`` extra (9). With the client's
default of 6 attempts a call meets 6 faults in a row with probability 0.3**6 = 0.07 %: about one task in a
thousand fails after exhausting its retries, which ``make chaos`` measures and reports; a unit test must not
flake on that, so this one checks the paths (no lost or unexpected cancel, every outcome right, no hang) with a
budget that makes exhaustion negligible (0.3**10 per call). Timing bounds here are hang checks, not speed goals.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer

BENCH = Path(__file__).resolve().parents[2] / "bench" / "chaos.py"
HANG_BOUND_S = 2.0  # a hung caller would wait out the 4 s stall (>= 2.5 s late): a hang check, not a speed goal


def load_chaos() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gcp_ops_bench_chaos", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def chaos() -> ModuleType:
    return load_chaos()


def drain(emu: EmulatorServer, timeout: float = 15.0) -> None:
    """Wait until the shared emulator has no request in flight (stalled ones finish), for the tests after us."""
    deadline = time.monotonic() + timeout
    while emu.admin.stats()["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.1)


def test_fault_rules_add_up_to_the_rate(chaos: ModuleType) -> None:
    rules = chaos.fault_rules(0.3, 1.0)
    assert [r["kind"] for r in rules] == ["429", "500", "503", "reset", "stall"]
    p = rules[0]["probability"]
    assert 1 - (1 - p) ** len(rules) == pytest.approx(0.3, abs=1e-4)
    assert next(r for r in rules if r["kind"] == "stall")["stall_s"] > 1.0  # beyond the read timeout


@pytest.mark.timeout(240)
def test_cancels_and_waits_under_faults_then_deadlines_against_stalls(
    chaos: ModuleType, gcp_ops_emulator_env: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = gcp_ops_emulator_env
    monkeypatch.setenv(
        "AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT",
        json.dumps({"conn_type": "google_cloud_platform", "extra": {"num_retries": 9}}),
    )

    def create(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [emu.admin.create_operation(**spec) for spec in specs]

    try:
        result = chaos.run(
            emu.admin,
            create,
            ops=50,
            fault_rate=0.3,
            read_timeout=0.5,
            poll_interval=0.5,
            threads=16,
            stall_callers=3,
            seed=5,
            watch_s=(1.0, 4.0),
            stall_s=4.0,
            budget_s=(0.5, 1.5),
            num_retries=9,
        )
    finally:
        emu.admin.clear_faults()
        drain(emu)
    p1, p2 = result["phase1"], result["phase2"]
    summary = chaos.report(result)
    assert p1["tasks"] == 50, summary
    assert p1["faults_injected"] > 0, summary
    assert p1["deferred"] > 0, summary
    assert p1["wrong_outcomes"] == 0, summary
    assert p1["cancels_lost"] == 0, summary
    assert p1["cancels_unexpected"] == 0, summary
    assert p1["wrong_end_states"] == 0, summary
    assert p2["callers"] == 3, summary
    assert p2["max_overshoot_s"] < HANG_BOUND_S, summary

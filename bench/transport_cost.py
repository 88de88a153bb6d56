"""CPU per GET: the project's ``AsyncOperationsClient`` against bare aiohttp (the floor for a Python client).

In one process, side by side, rounds alternating: ``--gets`` GETs of one running operation with ``--in-flight``
concurrent callers against the emulator in another process. CPU time of this process (user + system) per GET;
the median of ``--rounds`` rounds each.

- ``bare``: one ``aiohttp.ClientSession`` (64 connections), ``session.get(url)``, ``await response.read()``,
  ``json.loads``: the least any Python client on aiohttp does.
- ``ours``: ``AsyncOperationsClient.get(ref)`` on the loop's shared session (the name resolved once, as a
  trigger's wait does): the request, the retry loop, the gate, error mapping, parsing into an ``Operation``.

    python bench/transport_cost.py [--gets 2000] [--in-flight 50] [--rounds 3] [--profile FILE]

``--profile FILE`` writes a cProfile of one more round of ours (``python -m pstats FILE``). Writes
``bench/results/transport_cost.json``; exits 1 when ours costs more than 2x the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ENV_VAR, ROOT, cpu_seconds, emulator, machine, write_result

TARGET_RATIO = 2.0
SERVICE = "dataproc"


async def _fan_out(n: int, in_flight: int, one: Any) -> None:
    left = iter(range(n))

    async def worker() -> None:
        for _ in left:
            await one()

    await asyncio.gather(*(worker() for _ in range(in_flight)))


async def bare_round(url: str, n: int, in_flight: int) -> float:
    import aiohttp

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:

        async def one() -> None:
            async with session.get(url, headers={"Authorization": "Bearer x"}) as response:
                json.loads(await response.read())

        await one()  # connect outside the measurement
        cpu0 = cpu_seconds()
        await _fan_out(n, in_flight, one)
        return (cpu_seconds() - cpu0) / n


async def ours_round(name: str, n: int, in_flight: int, profiler: cProfile.Profile | None) -> float:
    from airflow_provider_gcp_ops.operations.async_client import AsyncOperationsClient

    async with AsyncOperationsClient() as client:
        ref = client.operation_ref(name, service=SERVICE)  # resolved once, as a trigger's wait does

        async def one() -> None:
            await client.get(ref)

        await one()
        cpu0 = cpu_seconds()
        if profiler:
            profiler.enable()
        await _fan_out(n, in_flight, one)
        if profiler:
            profiler.disable()
        return (cpu_seconds() - cpu0) / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gets", type=int, default=2000)
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", help="write a cProfile of our rounds here")
    args = parser.parse_args()
    profiler = cProfile.Profile() if args.profile else None
    with emulator() as emu:
        os.environ[ENV_VAR] = emu.host
        with emu.admin() as admin:
            name = admin.create_operation(service=SERVICE, duration_s=86400)["name"]
        url = f"{emu.url}/v1/{name}"
        bare: list[float] = []
        ours: list[float] = []
        for _ in range(args.rounds):
            bare.append(asyncio.run(bare_round(url, args.gets, args.in_flight)))
            ours.append(asyncio.run(ours_round(name, args.gets, args.in_flight, None)))
        if profiler:  # a round of its own: the profiler's overhead stays out of the figures
            asyncio.run(ours_round(name, args.gets, args.in_flight, profiler))
    if profiler and args.profile:
        profiler.dump_stats(args.profile)
    bare_ms, ours_ms = 1000 * statistics.median(bare), 1000 * statistics.median(ours)
    ratio = ours_ms / bare_ms
    result = {
        "benchmark": "transport_cost",
        "parameters": {"gets": args.gets, "in_flight": args.in_flight, "rounds": args.rounds},
        "bare_aiohttp_ms_per_get": round(bare_ms, 4),
        "ours_ms_per_get": round(ours_ms, 4),
        "rounds_ms": {"bare": [round(1000 * x, 4) for x in bare], "ours": [round(1000 * x, 4) for x in ours]},
        "ratio": round(ratio, 2),
        "target_ratio_max": TARGET_RATIO,
        "meets_target": ratio <= TARGET_RATIO,
        "loadavg_1m": machine()["loadavg_1m"],
        "measured_at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    path = write_result("transport_cost", result)
    print(
        f"CPU per GET: ours {ours_ms:.3f} ms, bare aiohttp {bare_ms:.3f} ms, ours/bare {ratio:.2f} "
        f"(target <= {TARGET_RATIO:g}); load {result['loadavg_1m']}"
    )
    print(f"wrote {path.relative_to(ROOT)}")
    return 0 if result["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())

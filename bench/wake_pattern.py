"""Diagnosis: what a poll costs the event loop depending on how polls are woken (not part of ``make bench``).

The triggerer's CPU per poll is far above the client's CPU per GET (``bench/transport_cost.py``): a waiting
trigger's poll is woken by its own timer, sends alone and is answered alone, so each poll pays a loop turn, an
``epoll_wait`` and a socket write of its own. This measures that with the client alone (no trigger, no start-up):
``--waits`` waits, each ``--rounds`` times a GET of a running operation (``AsyncOperationsClient.get`` with the
name resolved once, as a wait does) then a sleep of ``--interval`` s, three ways, in one process, alternating:

- ``together``: every wait starts at the same instant, so their polls stay in step (the loop wakes once for
  many polls; the floor);
- ``alone``: the waits start at random offsets within one interval, ``asyncio.sleep`` between polls (every poll
  woken alone: what a triggerer's waits look like without a grid);
- ``grid``: the same random starts, each sleep stretched onto the wake grid as ``OperationTrigger``'s waits are
  (``plans.on_grid`` then ``grid_sleep.sleep_until``; 100 ms at the default 10 s interval): the sends of one
  instant go out in one loop turn; the answers still arrive one by one.

CPU seconds of this process (user + system) per GET, median of ``--repeat`` runs each.

    python bench/wake_pattern.py [--waits 2000] [--interval 10] [--rounds 3] [--repeat 2]

Writes ``bench/results/wake_pattern.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ENV_VAR, cpu_seconds, create_operations, emulator, raise_fd_limit, write_result

SERVICE = "dataproc"
GRID_S = 0.1  # OperationTrigger's wake grid
PATTERNS = ("together", "alone", "grid")


async def _grid_sleep(seconds: float) -> None:
    from airflow_provider_gcp_ops.operations import grid_sleep
    from airflow_provider_gcp_ops.operations.plans import on_grid

    sleep = on_grid(seconds, time.monotonic(), GRID_S, None)
    assert sleep.until is not None
    await grid_sleep.sleep_until(sleep.until, sleep.seconds)


async def _run(names: list[str], pattern: str, args: argparse.Namespace, rng: random.Random) -> float:
    from airflow_provider_gcp_ops.operations.async_client import AsyncOperationsClient

    sleep = _grid_sleep if pattern == "grid" else asyncio.sleep
    async with AsyncOperationsClient() as client:
        refs = [client.operation_ref(n, service=SERVICE) for n in names]  # resolved once, as a wait does

        async def one(ref: Any, offset: float) -> None:
            if offset:
                await asyncio.sleep(offset)
            for i in range(args.rounds):
                op = await client.get(ref)
                assert not op.done
                if i + 1 < args.rounds:
                    await sleep(args.interval)

        offsets = [0.0 if pattern == "together" else rng.uniform(0, args.interval) for _ in names]
        started = cpu_seconds()
        await asyncio.gather(*(one(r, o) for r, o in zip(refs, offsets, strict=True)))
        return (cpu_seconds() - started) / (len(names) * args.rounds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--waits", type=int, default=2000)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    raise_fd_limit()
    rng = random.Random(args.seed)
    with emulator() as emu:
        specs = [{"service": SERVICE, "duration_s": 86400}] * args.waits
        names = [op["name"] for op in create_operations(emu.host, specs)]
        os.environ[ENV_VAR] = emu.host

        async def all_runs() -> dict[str, list[float]]:
            out: dict[str, list[float]] = {p: [] for p in PATTERNS}
            await _run(names[:50], "together", args, rng)  # warm-up: imports, the pool's connections
            for _ in range(args.repeat):
                for pattern in PATTERNS:
                    out[pattern].append(await _run(names, pattern, args, rng))
            return out

        runs = asyncio.run(all_runs())
    per_get_ms = {p: round(statistics.median(v) * 1000, 4) for p, v in runs.items()}
    result = {
        "benchmark": "wake_pattern",
        "parameters": vars(args),
        "cpu_per_get_ms": per_get_ms,
        "runs_ms": {p: [round(x * 1000, 4) for x in v] for p, v in runs.items()},
        "alone_over_together": round(per_get_ms["alone"] / per_get_ms["together"], 2),
        "grid_over_together": round(per_get_ms["grid"] / per_get_ms["together"], 2),
    }
    path = write_result("wake_pattern", result)
    for pattern in PATTERNS:
        print(f"{pattern:>9}: {per_get_ms[pattern]:.3f} ms CPU per GET")
    print(f"alone/together {result['alone_over_together']}, grid/together {result['grid_over_together']}; wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

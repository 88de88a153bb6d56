"""What a waiting trigger keeps alive: GC-tracked objects and a full collection's CPU, ours vs the thread-per-poll peer.

A full garbage collection walks every GC-tracked object of the process; thousands of waiting triggers add theirs to
what each pass walks. In a fresh interpreter per implementation: one trigger runs (warm-up), then N triggers wait on
operations that run for a day (first poll done, sleeping until the next), and we count
``len(gc.get_objects())`` before and after, and time one ``gc.collect()`` (CPU) each time.

    python bench/trigger_objects.py [--n 3000]

Prints one line per implementation; writes ``bench/results/trigger_objects.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ENV_VAR, ROOT, create_operations, emulator, run_child, write_result


def child(impl: str, n: int) -> dict[str, Any]:
    from triggerer_scale import SERVICE, peer_trigger_class

    from airflow_provider_gcp_ops.triggers.operation import OperationTrigger

    host = os.environ[ENV_VAR]
    names = [o["name"] for o in create_operations(host, [{"service": SERVICE, "duration_s": 86400}] * (n + 1))]
    peer = peer_trigger_class()

    def build(name: str) -> Any:
        if impl == "ours":
            return OperationTrigger(
                operation_name=name, service=SERVICE, api_version="v1", poll_interval=600, poll_max=600
            )
        return peer(name, 600)

    async def run(trigger: Any) -> None:
        async for _ in trigger.run():
            return

    def full_pass() -> tuple[int, float]:
        gc.collect()
        count = len(gc.get_objects())
        started = time.process_time()
        gc.collect()
        return count, 1000 * (time.process_time() - started)

    async def main() -> dict[str, Any]:
        warm = asyncio.ensure_future(run(build(names[0])))
        await asyncio.sleep(2.0)
        before, before_ms = full_pass()
        types_before = collections.Counter(type(o).__name__ for o in gc.get_objects())
        tasks = [asyncio.ensure_future(run(build(name))) for name in names[1:]]
        await asyncio.sleep(8.0)  # every trigger has polled once and sleeps
        after, after_ms = full_pass()
        grown = collections.Counter(type(o).__name__ for o in gc.get_objects()) - types_before
        for task in [*tasks, warm]:
            task.cancel()
        await asyncio.gather(*tasks, warm, return_exceptions=True)
        return {
            "impl": impl,
            "n": n,
            "objects_before": before,
            "objects_waiting": after,
            "objects_per_trigger": round((after - before) / n, 1),
            "full_gc_ms_before": round(before_ms, 1),
            "full_gc_ms_waiting": round(after_ms, 1),
            "top_types_per_trigger": {k: round(v / n, 2) for k, v in grown.most_common(15)},
        }

    return asyncio.run(main())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--child", choices=["ours", "peer"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.n)), flush=True)
        return 0
    results = []
    with emulator() as emu:
        env = {ENV_VAR: emu.host, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
        for impl in ("ours", "peer"):
            r = run_child([str(Path(__file__).resolve()), "--child", impl, "--n", str(args.n)], 300, env)
            results.append(r)
            print(
                f"{impl}: {r['objects_per_trigger']} GC-tracked objects per waiting trigger "
                f"({r['objects_before']:,} -> {r['objects_waiting']:,} at N={r['n']:,}); one full collection "
                f"{r['full_gc_ms_before']:.0f} -> {r['full_gc_ms_waiting']:.0f} ms CPU",
                flush=True,
            )
    path = write_result("trigger_objects", {"benchmark": "trigger_objects", "runs": results})
    print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

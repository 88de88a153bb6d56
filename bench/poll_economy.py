"""Poll economy: API calls per operation and detection delay, our ``PollSchedule`` vs google-api-core's default.

Exact and fast: the real ``plans.wait_plan`` (the loop both clients run) is driven on a simulated clock. An
operation of duration D starts at t = 0 and we watch it from its start (its metadata carries the start time, as
Dataproc's and the generic ``OperationMetadata`` do); a GET at time t answers ``done`` iff t >= D. Every GET
counts as a call, the first one included. Detection delay = time of the GET that saw ``done`` - D.

- ours: ``PollSchedule()`` (1 s x1.5 up to 20 s while young, then 10 % of the age, at most 60 s).
- peer: google-api-core's default operation polling, 1 s x1.5 up to 20 s, deterministic (its newer releases
  add jitter, which only adds calls on average), run through the same plan as
  ``PollSchedule(age_factor=0, maximum=20)``.

Durations: ``--samples`` drawn log-uniform from 5 s to 6 h (seeded), reported per bucket (mean / p50 / p95 of
calls and delay), plus the exact figures for 30 s, 3 min, 10 min, 1 h and 6 h.

The target: no more calls at no worse delay, or a documented trade-off. Ours is google-api-core's schedule until
about 200 s of age, then trades detection delay for calls: the check is that ours never makes more calls than
the peer, and that its delay stays within the documented bound, max(20 s, min(10 % of the duration, 60 s)).

    python bench/poll_economy.py [--samples 2000] [--seed 1]

Writes ``bench/results/poll_economy.json``; exits 1 when the check fails.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, log_uniform, percentile, write_result

from airflow_provider_gcp_ops.operations.model import Operation
from airflow_provider_gcp_ops.operations.names import resolve_operation
from airflow_provider_gcp_ops.operations.plans import Send, Sleep, wait_plan
from airflow_provider_gcp_ops.operations.polling import PollSchedule

OURS = PollSchedule()
API_CORE = PollSchedule(initial=1.0, maximum=20.0, age_factor=0.0, multiplier=1.5, early_maximum=20.0)
BUCKETS = ((5, 30, "5-30 s"), (30, 180, "30 s-3 min"), (180, 600, "3-10 min"), (600, 3600, "10-60 min"),
           (3600, 6 * 3600 + 1, "1-6 h"))
EXACT = (30, 180, 600, 3600, 6 * 3600)
NAME = "projects/p/regions/us-central1/operations/bench"
EPOCH = 1_700_000_000.0  # the operation's start, wall clock (any fixed instant)


def watch(schedule: PollSchedule, duration: float) -> tuple[int, float]:
    """(GETs, detection delay) for one operation of ``duration`` s, watched from its start, on a simulated clock."""
    ref = resolve_operation(NAME, service="dataproc")
    started = datetime.fromtimestamp(EPOCH, timezone.utc).isoformat().replace("+00:00", "Z")
    metadata = {"@type": "type.googleapis.com/google.cloud.common.OperationMetadata", "createTime": started}
    running = Operation.from_json({"name": NAME, "metadata": metadata})
    done = Operation.from_json({"name": NAME, "metadata": metadata, "done": True, "response": {}})
    clock = [0.0]
    plan = wait_plan(
        ref,
        deadline=None,
        now=lambda: clock[0],
        wall_now=lambda: EPOCH + clock[0],
        schedule=schedule,
        use_server_wait=False,
    )
    calls = 0
    action = next(plan)
    try:
        while True:
            if isinstance(action, Sleep):
                clock[0] += action.seconds
                action = plan.send(None)
            elif isinstance(action, Send):
                calls += 1
                action = plan.send(done if clock[0] >= duration else running)
            else:  # pragma: no cover - a wait plan emits nothing
                raise AssertionError(action)
    except StopIteration:
        return calls, clock[0] - duration


def bound(duration: float) -> float:
    """The documented worst-case detection delay of ours: max(20 s, min(10 % of the duration, 60 s))."""
    return max(20.0, min(0.1 * duration, 60.0))


def stats(values: list[float]) -> dict[str, float]:
    return {
        "mean": round(statistics.fmean(values), 2),
        "p50": round(percentile(values, 0.5), 2),
        "p95": round(percentile(values, 0.95), 2),
        "max": round(max(values), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    started = time.monotonic()
    rng = random.Random(args.seed)
    durations = [log_uniform(rng, 5.0, 6 * 3600.0) for _ in range(args.samples)]
    rows = []
    more_calls = over_bound = 0
    for d in durations:
        oc, od = watch(OURS, d)
        pc, pd = watch(API_CORE, d)
        more_calls += oc > pc
        over_bound += od > bound(d) + 1e-9
        rows.append((d, oc, od, pc, pd))

    buckets = []
    for low, high, label in BUCKETS:
        sel = [r for r in rows if low <= r[0] < high]
        if not sel:
            continue
        ours_calls, peer_calls = [r[1] for r in sel], [r[3] for r in sel]
        buckets.append(
            {
                "bucket": label,
                "operations": len(sel),
                "ours_calls": stats([float(c) for c in ours_calls]),
                "peer_calls": stats([float(c) for c in peer_calls]),
                "ours_delay_s": stats([r[2] for r in sel]),
                "peer_delay_s": stats([r[4] for r in sel]),
                "calls_saved": round(1 - sum(ours_calls) / sum(peer_calls), 3),
                "ours_delay_pct_of_duration_max": round(100 * max(r[2] / r[0] for r in sel), 1),
            }
        )
    exact = []
    for d in EXACT:
        oc, od = watch(OURS, d)
        pc, pd = watch(API_CORE, d)
        exact.append({"duration_s": d, "ours_calls": oc, "peer_calls": pc, "ours_delay_s": round(od, 2),
                      "peer_delay_s": round(pd, 2)})
    total_ours = sum(r[1] for r in rows)
    total_peer = sum(r[3] for r in rows)
    result = {
        "benchmark": "poll_economy",
        "parameters": {"samples": args.samples, "seed": args.seed, "durations": "log-uniform 5 s - 6 h"},
        "calls_per_op": {"ours_mean": round(total_ours / len(rows), 1), "peer_mean": round(total_peer / len(rows), 1)},
        "calls_ratio": round(total_peer / total_ours, 2),
        "delay_s": {"ours": stats([r[2] for r in rows]), "peer": stats([r[4] for r in rows])},
        "ops_with_more_calls_than_peer": more_calls,
        "ops_over_documented_delay_bound": over_bound,
        "buckets": buckets,
        "exact": exact,
        "meets_target": more_calls == 0 and over_bound == 0,
        "duration_s": round(time.monotonic() - started, 2),
    }
    path = write_result("poll_economy", result)
    print(f"{'bucket':<12} {'ops':>5}  {'calls ours / api-core: mean (p95)':<34}delay s ours / api-core: mean (p95)")
    for b in buckets:
        oc, pc, od, pd = b["ours_calls"], b["peer_calls"], b["ours_delay_s"], b["peer_delay_s"]
        calls = f"{oc['mean']:.1f} / {pc['mean']:.1f} ({oc['p95']:g} / {pc['p95']:g})"
        delay = f"{od['mean']:.1f} / {pd['mean']:.1f} ({od['p95']:g} / {pd['p95']:g})"
        print(f"{b['bucket']:<12} {b['operations']:>5}  {calls:<34}{delay}")
    print(
        f"all: {result['calls_per_op']['ours_mean']} vs {result['calls_per_op']['peer_mean']} calls per operation "
        f"({result['calls_ratio']}x fewer), delay mean {result['delay_s']['ours']['mean']} s vs "
        f"{result['delay_s']['peer']['mean']} s; more calls than api-core: {more_calls}; over the bound: {over_bound}"
    )
    print(json.dumps({k: result[k] for k in ("calls_ratio", "meets_target")}))
    print(f"wrote {path.relative_to(ROOT)} in {result['duration_s']} s")
    return 0 if result["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())

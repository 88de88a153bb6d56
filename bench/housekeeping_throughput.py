"""Housekeeping throughput: 10,000 operations across pages, 20 ms server latency, a request quota answering 429.

The emulator runs in its own process with ``latency_s = 0.02`` on every request and a request quota
(``rate_limit_per_s``, a token bucket answering 429 RESOURCE_EXHAUSTED as Google's rate quotas do: ErrorInfo
RATE_LIMIT_EXCEEDED, no ``Retry-After``, no ``RetryInfo``).
Two collections are seeded: half of each collection's operations are running for a day (to cancel), half finished
ten days ago (to delete).

- ``ours``: ``OperationsHousekeepingOperator.execute()`` (the operator's real code path: list every page, plan,
  cancel and delete on the async client with ``max_concurrency`` requests in flight, paced by the run's adaptive
  pacer, no ``max_requests_per_second``: the headline, as a user who does not know the quota runs it), called
  directly with an empty context (no Airflow database; the connection falls back to the emulator from the
  environment).
- ``capped``: the same on another collection of ``--capped-ops`` operations, with ``max_requests_per_second`` set
  to the quota (a user who knows it). Its figure is printed beside the headline, not instead of it.
- ``peer``: what a script around gcloud does: the sync client, one call at a time: list every page, then
  cancel each old running operation and delete each old finished one, sequentially. It runs on a smaller
  collection for a bounded time; its rate for 10,000 operations is projected from its measured list time per
  page and its measured mean time per action (both exactly what it would repeat).

A second, smaller run (``--quota-ops``, default 1,000) sets the quota well below our rate (150 requests/s) so
that it really bites: every planned action must still be done, none failed, however many 429s it took.

Figures: operations handled per second (ours: 10,000 / wall time of ``execute()``; peer: projected), ours as a
share of the quota-bound rate (the quota x operations / requests the quota admitted; target >= 90 %), the ratio
to the sequential loop, and failures (target 0): the operator's summary must report no error and every planned
action performed, and the emulator's counters must agree (every running operation received a cancel, every
old one was deleted, no cancel or delete for any other).

    python bench/housekeeping_throughput.py [--ops 10000] [--rate-limit 600] [--max-concurrency 64] [--capped-ops N]

Writes ``bench/results/housekeeping_throughput.json``; exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ENV_VAR, RESULTS, ROOT, create_operations, emulator, write_result

TARGET_RATIO = 10.0  # over the sequential loop: informative since the quota is the bound
TARGET_OF_QUOTA_BOUND = 0.9  # within 10 % of what the quota allows
SERVICE = "dataproc"
REGION = "us-central1"
DAY = 86400.0


def specs(project: str, n: int) -> list[dict[str, Any]]:
    """Even: running for a day (cancel: older than 12 h). Odd: finished 10 days ago (delete: older than 7 days)."""
    out = []
    for i in range(n):
        if i % 2 == 0:
            out.append({"service": SERVICE, "project": project, "location": REGION, "duration_s": 30 * DAY,
                        "created_ago_s": DAY, "cancel_delay_s": 0.5})
        else:
            out.append({"service": SERVICE, "project": project, "location": REGION, "duration_s": 60,
                        "created_ago_s": 10 * DAY})
    return out


def run_ours(host: str, parent: str, args: argparse.Namespace, name: str) -> dict[str, Any]:
    """``execute()`` in a fresh interpreter whose task log (one line per action) goes to a file, as in a worker."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    log, out = RESULTS / f"housekeeping_{name}.log", RESULTS / f"housekeeping_{name}.out.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--parent", parent, "--out", str(out)]
    cmd += ["--max-concurrency", str(args.max_concurrency), "--page-size", str(args.page_size)]
    if name == "hk-capped":
        cmd += ["--max-requests-per-second", str(args.rate_limit)]
    env = {**os.environ, ENV_VAR: host, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with log.open("w") as fh:
        done = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=ROOT, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the housekeeping child failed ({done.returncode}); see {log}")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def child(args: argparse.Namespace) -> int:
    from airflow_provider_gcp_ops.operators.housekeeping import OperationsHousekeepingOperator

    op = OperationsHousekeepingOperator(
        task_id="housekeeping_bench",
        service=SERVICE,
        parents=[args.parent],
        cancel_running_older_than=12 * 3600,
        delete_done_older_than=7 * DAY,
        max_concurrency=args.max_concurrency,
        max_requests_per_second=args.max_requests_per_second,
        max_actions=None,
        max_listed=None,
        page_size=args.page_size,
        fail_on_errors=False,
    )
    started = time.monotonic()
    summary: dict[str, Any] = op.execute(context={})  # type: ignore[arg-type]
    elapsed = time.monotonic() - started
    Path(args.out).write_text(json.dumps({"seconds": elapsed, "summary": summary}))
    return 0


def run_peer(parent: str, args: argparse.Namespace, n_ops: int) -> dict[str, Any]:
    """Sequential: list all, then one cancel / delete at a time, for at most ``--peer-seconds``."""
    from datetime import datetime, timezone

    from airflow_provider_gcp_ops.operations.sync_client import OperationsClient

    now = datetime.now(timezone.utc)
    acted = failed = 0
    with OperationsClient() as client:
        t0 = time.monotonic()
        pages_before = None
        listed = list(client.list(parent, service=SERVICE, page_size=args.page_size))
        list_s = time.monotonic() - t0
        pages_before = -(-len(listed) // args.page_size)
        t1 = time.monotonic()
        for op in listed:
            if time.monotonic() - t1 >= args.peer_seconds:
                break
            try:
                if not op.done:
                    start = op.start_time()
                    if start is not None and (now - start).total_seconds() >= 12 * 3600:
                        client.cancel(op.name, service=SERVICE)
                else:
                    end = op.end_time() or op.start_time()
                    if end is not None and (now - end).total_seconds() >= 7 * DAY:
                        client.delete(op.name, service=SERVICE)
            except Exception:
                failed += 1
            acted += 1
        act_s = time.monotonic() - t1
    per_action = act_s / max(acted, 1)
    per_page = list_s / max(pages_before, 1)
    projected_s = per_page * -(-args.ops // args.page_size) + per_action * args.ops
    return {
        "collection_ops": n_ops,
        "listed": len(listed),
        "list_s": round(list_s, 3),
        "list_s_per_page": round(per_page, 4),
        "acted": acted,
        "failed": failed,
        "act_s": round(act_s, 3),
        "s_per_action": round(per_action, 5),
        "projected_s_for_ops": round(projected_s, 2),
        "ops_per_s": round(args.ops / projected_s, 1),
    }


def check_server(stats: dict[str, Any], names: list[str], specs_: list[dict[str, Any]]) -> dict[str, Any]:
    """What the emulator saw for our collection: every running op cancelled, every old one deleted, nothing else."""
    per_op = stats["operations"]
    missing_cancel = wrong_cancel = missing_delete = wrong_delete = dup_cancel = 0
    for name, spec in zip(names, specs_, strict=True):
        counts = per_op.get(name, {})
        to_cancel = spec["duration_s"] > DAY
        cancels, deletes = counts.get("cancel", 0), counts.get("delete", 0)
        if to_cancel:
            missing_cancel += cancels == 0
            dup_cancel += cancels > 1
            wrong_delete += deletes > 0
        else:
            missing_delete += deletes == 0
            wrong_cancel += cancels > 0
    return {
        "missing_cancels": missing_cancel,
        "duplicate_cancels": dup_cancel,
        "missing_deletes": missing_delete,
        "unexpected_cancels": wrong_cancel,
        "unexpected_deletes": wrong_delete,
    }


def phase(emu: Any, project: str, n: int, args: argparse.Namespace, seeded: list[dict[str, Any]],
          specs_: list[dict[str, Any]]) -> dict[str, Any]:
    """Run ours on one collection; its rate, the summary's counts, the emulator's view, and failures."""
    with emu.admin() as admin:
        before = admin.stats()
    run = run_ours(emu.host, f"projects/{project}/regions/{REGION}", args, project)
    with emu.admin() as admin:
        after = admin.stats()
    server = check_server(after, [op["name"] for op in seeded], specs_)
    summary = run["summary"]
    failures = (
        summary["errors"]["total"]
        + summary["skipped"]["total"]
        + sum(v for k, v in server.items() if k != "duplicate_cancels")
        + (n - summary["cancelled"] - summary["deleted"])
    )
    return {
        "ops": n,
        "seconds": round(run["seconds"], 2),
        "ops_per_s": round(n / run["seconds"], 1),
        "listed": summary["listed"],
        "cancelled": summary["cancelled"],
        "deleted": summary["deleted"],
        "errors": summary["errors"]["total"],
        "skipped": summary["skipped"]["total"],
        "failures": failures,
        "rate_limited_429s": after["rate_limited"] - before["rate_limited"],
        "pacing": summary["pacing"],
        "server_requests": after["requests_total"] - before["requests_total"],
        "server_max_in_flight": after["max_in_flight"],
        "server_check": server,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.02, help="emulator latency per request (s)")
    parser.add_argument("--rate-limit", type=float, default=600.0, help="quota of the main run, requests/s")
    parser.add_argument("--quota-ops", type=int, default=1000, help="operations of the quota run (0: skip it)")
    parser.add_argument("--quota-rate", type=float, default=150.0, help="quota of the quota run, requests/s")
    parser.add_argument("--max-concurrency", type=int, default=64, help="the operator's max_concurrency")
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--capped-ops", type=int, help="operations of the run capped at the quota (default: --ops)")
    parser.add_argument("--max-requests-per-second", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--peer-ops", type=int, default=1000, help="size of the peer's own collection")
    parser.add_argument("--peer-seconds", type=float, default=10.0, help="how long the peer acts")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--parent", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    started = time.monotonic()
    with emulator(time_scale=1.0) as emu:
        os.environ[ENV_VAR] = emu.host
        ours_specs, peer_specs = specs("hk-ours", args.ops), specs("hk-peer", args.peer_ops)
        quota_specs = specs("hk-quota", args.quota_ops)
        capped_n = args.ops if args.capped_ops is None else args.capped_ops
        capped_specs = specs("hk-capped", capped_n)
        t = time.monotonic()
        ours_ops = create_operations(emu.host, ours_specs)
        capped_ops = create_operations(emu.host, capped_specs) if capped_n else []
        create_operations(emu.host, peer_specs)
        quota_ops = create_operations(emu.host, quota_specs)
        seed_s = time.monotonic() - t
        with emu.admin() as admin:
            admin.configure(latency_s=args.latency, rate_limit_per_s=args.rate_limit)
        peer = run_peer(f"projects/hk-peer/regions/{REGION}", args, args.peer_ops)
        ours = phase(emu, "hk-ours", args.ops, args, ours_ops, ours_specs)
        capped = None
        if capped_n:
            # A fresh bucket (the quota's burst included), as the headline run had.
            with emu.admin() as admin:
                admin.configure(rate_limit_per_s=0)
                admin.configure(rate_limit_per_s=args.rate_limit)
            capped = phase(emu, "hk-capped", capped_n, args, capped_ops, capped_specs)
            bound = args.rate_limit * capped_n / (capped["server_requests"] - capped["rate_limited_429s"])
            capped["quota_bound_ops_per_s"] = round(bound, 1)
            capped["of_quota_bound"] = round(capped["ops_per_s"] / bound, 3)
        quota = None
        if args.quota_ops:
            with emu.admin() as admin:
                admin.configure(rate_limit_per_s=args.quota_rate)
            quota = phase(emu, "hk-quota", args.quota_ops, args, quota_ops, quota_specs)
            # Requests the quota admitted per second, as a share of the quota (its one-second burst included).
            admitted = quota["server_requests"] - quota["rate_limited_429s"]
            quota["admitted_per_s"] = round(admitted / quota["seconds"], 1)
            quota["quota_use"] = round(admitted / quota["seconds"] / args.quota_rate, 2)
    # The quota-bound rate: every request the quota admitted (list pages, cancels, deletes) at exactly the quota.
    admitted = ours["server_requests"] - ours["rate_limited_429s"]
    quota_bound = args.rate_limit * args.ops / admitted
    ours["quota_bound_ops_per_s"] = round(quota_bound, 1)
    ours["of_quota_bound"] = round(ours["ops_per_s"] / quota_bound, 3)
    ratio = ours["ops_per_s"] / peer["ops_per_s"]
    failures = ours["failures"] + (quota["failures"] if quota else 0) + (capped["failures"] if capped else 0)
    result = {
        "benchmark": "housekeeping_throughput",
        "parameters": {
            "ops": args.ops,
            "latency_s": args.latency,
            "rate_limit_per_s": args.rate_limit,
            "quota_ops": args.quota_ops,
            "quota_rate_per_s": args.quota_rate,
            "max_concurrency": args.max_concurrency,
            "page_size": args.page_size,
            "peer_ops": args.peer_ops,
            "peer_seconds": args.peer_seconds,
            "capped_ops": capped_n,
        },
        "ours": ours,
        "capped_run": capped,
        "quota_run": quota,
        "peer": peer,
        "ratio": round(ratio, 2),
        "failures": failures,
        "target_ratio": TARGET_RATIO,
        "target_of_quota_bound": TARGET_OF_QUOTA_BOUND,
        "meets_target": ours["of_quota_bound"] >= TARGET_OF_QUOTA_BOUND and failures == 0,
        "seed_s": round(seed_s, 1),
        "duration_s": round(time.monotonic() - started, 1),
    }
    path = write_result("housekeeping_throughput", result)
    print(
        f"housekeeping: ours {ours['ops_per_s']:.0f} ops/s ({args.ops} in {ours['seconds']:.1f} s, "
        f"{ours['rate_limited_429s']} x 429 at {args.rate_limit:g} req/s), sequential {peer['ops_per_s']:.0f} ops/s, "
        f"ratio {ratio:.1f}x; quota-bound {quota_bound:.0f} ops/s, ours at {ours['of_quota_bound']:.0%} of it "
        f"(target >= {TARGET_OF_QUOTA_BOUND:.0%}), failures {ours['failures']}"
    )
    if capped:
        print(
            f"housekeeping with max_requests_per_second={args.rate_limit:g} (the quota): {capped['ops_per_s']:.0f} "
            f"ops/s ({capped['ops']} in {capped['seconds']:.1f} s, {capped['rate_limited_429s']} x 429), "
            f"{capped['of_quota_bound']:.0%} of its quota-bound rate, failures {capped['failures']}"
        )
    if quota:
        print(
            f"housekeeping under a {args.quota_rate:g} req/s quota: {quota['ops']} ops in {quota['seconds']:.1f} s, "
            f"{quota['rate_limited_429s']} x 429, {quota['admitted_per_s']:.0f} requests/s admitted "
            f"({quota['quota_use']:.0%} of the quota), "
            f"failures {quota['failures']}"
        )
    print(json.dumps({k: result[k] for k in ("ratio", "failures", "meets_target")}))
    print(f"wrote {path.relative_to(ROOT)} in {result['duration_s']} s")
    return 0 if result["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())

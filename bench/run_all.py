"""``make bench``: every benchmark, then ONE table: figure, target, ours, the peer measured in the same run, ratio.

Runs, each in its own interpreter (their own output streams by as they go):

1. ``import_cost.py``            import cost of the operator/sensor modules over ``airflow.sdk`` (target <= 35 ms)
2. ``emulator_bench.py``         the emulator's GET/s: the physical ceiling the next two are read against
3. ``transport_cost.py``         CPU per GET: our async client vs bare aiohttp (the floor), side by side
4. ``triggerer_scale.py``        500 / 5,000 / 10,000 ``OperationTrigger.run()`` in one loop vs thread-per-poll and
                                 google-api-core's async REST client (at 5,000)
5. ``housekeeping_throughput.py`` 10,000 operations, 20 ms latency, a 600/s quota -> ours vs the quota-bound rate
                                 and a sequential loop
6. ``poll_economy.py``           calls and detection delay, our schedule vs google-api-core's (simulated clock)

The machine is small, shared and noisy: absolute numbers move from run to run; the ratios against a peer measured
side by side in the same run are the figures to read. Writes ``bench/results/summary.json`` and
``bench/results/summary.md`` (the table as Markdown, for the README); every benchmark writes its own JSON there.
Exits 1 when a target is missed.

    python bench/run_all.py [--skip name,...] [--quick]

``--quick``: smaller sizes (a smoke run of the whole chain in about 2 minutes; the figures are not the targets').
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

from _common import RESULTS, ROOT, machine

BENCHES: dict[str, list[str]] = {
    "import_cost": ["bench/import_cost.py", "--runs", "11"],
    "emulator": ["bench/emulator_bench.py"],
    "transport_cost": ["bench/transport_cost.py"],
    "triggerer_scale": ["bench/triggerer_scale.py"],
    "housekeeping_throughput": ["bench/housekeeping_throughput.py"],
    "poll_economy": ["bench/poll_economy.py"],
}
QUICK: dict[str, list[str]] = {
    "import_cost": ["--runs", "3"],
    "emulator": ["--duration", "2"],
    "transport_cost": ["--gets", "500"],
    "triggerer_scale": ["--n", "200,500", "--peer-n", "500", "--spread", "5,15", "--cap", "30"],
    "housekeeping_throughput": ["--ops", "2000", "--quota-ops", "300", "--peer-seconds", "4"],
    "poll_economy": ["--samples", "300"],
}
Row = tuple[str, str, str, str, str, str]


def run(name: str, extra: list[str]) -> dict[str, Any]:
    cmd = [sys.executable, *BENCHES[name], *extra]
    print(f"\n=== {name}: {' '.join(cmd[1:])}", flush=True)
    started = time.monotonic()
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    code = subprocess.run(cmd, cwd=ROOT, env=env, check=False).returncode
    return {"exit_code": code, "seconds": round(time.monotonic() - started, 1)}


def load(name: str, since: float) -> dict[str, Any] | None:
    path = RESULTS / f"{'emulator' if name == 'emulator' else name}.json"
    if not path.exists() or path.stat().st_mtime < since:
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def verdict(ok: bool | None) -> str:
    return "info" if ok is None else ("pass" if ok else "FAIL")


def fmt(value: Any, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{unit}"
    if isinstance(value, int):
        return f"{value:,}{unit}"
    return f"{value}{unit}"


def rows_import(r: dict[str, Any]) -> list[Row]:
    ok = r["median_ms"] <= r["target_ms"] and not r["forbidden_imported"]
    return [("import cost over airflow.sdk (median)", f"<= {r['target_ms']:g} ms", fmt(r["median_ms"], " ms"), "-",
             "-", verdict(ok))]


def rows_emulator(r: dict[str, Any], triggers: dict[str, Any] | None) -> list[Row]:
    note = "-"
    if triggers:
        top = max((x for x in triggers["runs"] if x["impl"] == "ours"), key=lambda x: x["n"], default=None)
        if top and top["polls_per_s"]:
            note = f"N={top['n']:,} polled at {100 * top['polls_per_s'] / r['gets_per_s']:.0f} % of it"
    return [("emulator ceiling, GET/s (raw client)", f">= {r['target_gets_per_s']:,}", fmt(r["gets_per_s"], "", 0),
             "-", note, verdict(bool(r["meets_target"]) and not r["errors"]))]


def rows_triggers(r: dict[str, Any]) -> list[Row]:
    by = {(x["impl"], x["n"]): x for x in r["runs"]}
    ns = sorted(n for impl, n in by if impl == "ours")
    top = max(ns)
    targets = r["targets"]
    out: list[Row] = []
    peer_ns = sorted(n for impl, n in by if impl == "peer")
    at = peer_ns[-1] if peer_ns else top
    for n in ns:
        ours, peer, gapic = by[("ours", n)], by.get(("peer", n)), by.get(("gapic", n))
        at_top = n == at
        label = f"triggers N={n:,}"
        cpu_ratio = peer["cpu_per_poll_ms"] / ours["cpu_per_poll_ms"] if peer else None
        out.append((
            f"{label}: CPU per poll",
            f"<= 1/{targets['cpu_per_poll_ratio_min']:g} of peer" if at_top else "-",
            fmt(ours["cpu_per_poll_ms"], " ms", 2),
            fmt(peer["cpu_per_poll_ms"], " ms", 2) if peer else "not run",
            f"peer/ours {cpu_ratio:.2f}" if cpu_ratio else "-",
            verdict(cpu_ratio >= targets["cpu_per_poll_ratio_min"] if at_top and cpu_ratio else None),
        ))
        steady_ours = ours.get("cpu_per_poll_after_ramp_ms")
        steady_peer = (peer or {}).get("cpu_per_poll_after_ramp_ms")
        if steady_ours and steady_peer:
            steady_gapic = (gapic or {}).get("cpu_per_poll_after_ramp_ms")
            out.append((
                f"{label}: CPU per poll after the ramp (no start-ups)",
                "info",
                fmt(steady_ours, " ms", 2),
                fmt(steady_peer, " ms", 2) + (f"; google-api-core {steady_gapic:.2f} ms" if steady_gapic else ""),
                f"peer/ours {steady_peer / steady_ours:.2f}"
                + (f"; gapic/ours {steady_gapic / steady_ours:.2f}" if steady_gapic else ""),
                "info",
            ))
        if gapic:
            ratio = gapic["cpu_per_poll_ms"] / ours["cpu_per_poll_ms"]
            out.append((
                f"{label}: CPU per poll vs google-api-core async REST",
                "below it",
                fmt(ours["cpu_per_poll_ms"], " ms", 2),
                f"{fmt(gapic['cpu_per_poll_ms'], ' ms', 2)} (lag p99 {gapic['lag_p99_ms']:.0f} ms, "
                f"{'all correct' if gapic['all_correct'] else 'NOT all correct'})",
                f"gapic/ours {ratio:.2f}",
                verdict(ratio > 1),
            ))
        out.append((
            f"{label}: loop lag p50 / p99",
            f"p99 <= {targets['lag_p99_ms_max']:g} ms" if at_top else ("reported" if n > at else "-"),
            f"{ours['lag_p50_ms']:.0f} / {ours['lag_p99_ms']:.0f} ms",
            f"{peer['lag_p50_ms']:.0f} / {peer['lag_p99_ms']:.0f} ms" if peer else "not run",
            "-",
            verdict(ours["lag_p99_ms"] <= targets["lag_p99_ms_max"] if at_top else None),
        ))
        out.append((
            f"{label}: RSS per trigger",
            f"<= {targets['rss_per_trigger_kb_max']:g} KB" if at_top else "-",
            fmt(ours["rss_per_trigger_kb"], " KB"),
            fmt(peer["rss_per_trigger_kb"], " KB") if peer else "not run",
            f"peer/ours {peer['rss_per_trigger_kb'] / max(ours['rss_per_trigger_kb'], 0.01):.2f}" if peer else "-",
            verdict(ours["rss_per_trigger_kb"] <= targets["rss_per_trigger_kb_max"] if at_top else None),
        ))
        out.append((
            f"{label}: polls/s; all done, right state",
            "all correct",
            f"{ours['polls_per_s']:.0f}/s; {'yes' if ours['all_correct'] else 'NO (' + str(ours['wrong']) + ')'}",
            (f"{peer['polls_per_s']:.0f}/s; {'yes' if peer['all_correct'] else 'NO'}") if peer else "not run",
            f"ours/peer {ours['polls_per_s'] / peer['polls_per_s']:.2f}" if peer else "-",
            verdict(bool(ours["all_correct"])),
        ))
    return out


def rows_transport(r: dict[str, Any]) -> list[Row]:
    p = r["parameters"]
    return [(
        f"CPU per GET, {p['gets']:,} GETs at {p['in_flight']} in flight (median of {p['rounds']})",
        f"<= {r['target_ratio_max']:g}x bare aiohttp",
        fmt(r["ours_ms_per_get"], " ms", 3),
        f"{fmt(r['bare_aiohttp_ms_per_get'], ' ms', 3)} (bare aiohttp)",
        f"ours/bare {r['ratio']:.2f}",
        verdict(bool(r["meets_target"])),
    )]


def rows_housekeeping(r: dict[str, Any]) -> list[Row]:
    ours, peer, quota = r["ours"], r["peer"], r.get("quota_run")
    p = r["parameters"]
    out: list[Row] = [
        (
            f"housekeeping {p['ops']:,} ops, {1000 * p['latency_s']:g} ms latency, quota {p['rate_limit_per_s']:g}/s",
            f">= {100 * r['target_of_quota_bound']:.0f} % of quota-bound",
            f"{ours['ops_per_s']:.0f} ops/s",
            f"{ours['quota_bound_ops_per_s']:.0f} ops/s (quota-bound)",
            f"{100 * ours['of_quota_bound']:.0f} % of it",
            verdict(ours["of_quota_bound"] >= r["target_of_quota_bound"]),
        ),
        (
            "housekeeping: vs a sequential loop (same run)",
            "-",
            f"{ours['ops_per_s']:.0f} ops/s",
            f"{peer['ops_per_s']:.0f} ops/s",
            f"ours/peer {r['ratio']:.1f}",
            "info",
        ),
        (
            "housekeeping: failed operations (summary + emulator)",
            "0",
            fmt(ours["failures"]),
            fmt(peer["failed"]),
            "-",
            verdict(ours["failures"] == 0),
        ),
    ]
    capped = r.get("capped_run")
    if capped:
        out.append((
            "housekeeping: the same with max_requests_per_second = the quota",
            "-",
            f"{capped['ops_per_s']:.0f} ops/s, {capped['rate_limited_429s']} x 429",
            f"{capped['quota_bound_ops_per_s']:.0f} ops/s (quota-bound)",
            f"{100 * capped['of_quota_bound']:.0f} % of it",
            "info",
        ))
    if quota:
        out.append((
            f"housekeeping {quota['ops']:,} ops under a {p['quota_rate_per_s']:g} req/s quota",
            "0 failed",
            f"{quota['failures']} failed, {quota['rate_limited_429s']} x 429",
            "-",
            f"{quota['admitted_per_s']:.0f}/s admitted",
            verdict(quota["failures"] == 0),
        ))
    return out


def rows_poll(r: dict[str, Any]) -> list[Row]:
    out: list[Row] = [
        (
            "poll economy: calls per op, 5 s-6 h (mean)",
            "<= google-api-core",
            fmt(r["calls_per_op"]["ours_mean"]),
            fmt(r["calls_per_op"]["peer_mean"]),
            f"peer/ours {r['calls_ratio']:.2f}",
            verdict(r["ops_with_more_calls_than_peer"] == 0),
        ),
        (
            "poll economy: detection delay mean / p95",
            "<= max(20 s, 10 % <= 60 s)",
            f"{r['delay_s']['ours']['mean']:.1f} / {r['delay_s']['ours']['p95']:.1f} s",
            f"{r['delay_s']['peer']['mean']:.1f} / {r['delay_s']['peer']['p95']:.1f} s",
            f"{r['ops_over_documented_delay_bound']} over bound",
            verdict(r["ops_over_documented_delay_bound"] == 0),
        ),
    ]
    for b in r["buckets"]:
        out.append((
            f"  {b['bucket']}: calls mean (delay mean)",
            "-",
            f"{b['ours_calls']['mean']:.1f} ({b['ours_delay_s']['mean']:.1f} s)",
            f"{b['peer_calls']['mean']:.1f} ({b['peer_delay_s']['mean']:.1f} s)",
            f"{100 * b['calls_saved']:.0f} % fewer calls",
            "info",
        ))
    return out


HEADER: Row = ("figure", "target", "ours", "peer (same run)", "ratio", "")


def text_table(rows: list[Row]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    line = "  ".join("-" * w for w in widths)
    body = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(["  ".join(c.ljust(w) for c, w in zip(HEADER, widths, strict=True)).rstrip(), line, *body])


def markdown_table(rows: list[Row]) -> str:
    head = "| " + " | ".join(HEADER[:-1]) + " | |"
    sep = "|" + "---|" * len(HEADER)
    return "\n".join([head, sep, *("| " + " | ".join(r) + " |" for r in rows)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip", default="", help="comma-separated benchmark names to skip")
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a smoke run, not the targets")
    args = parser.parse_args()
    skip = {s for s in args.skip.split(",") if s}

    since = time.time()
    started = time.monotonic()
    load_at_start = os.getloadavg()
    runs: dict[str, dict[str, Any]] = {}
    for name in BENCHES:
        if name not in skip:
            runs[name] = run(name, QUICK[name] if args.quick else [])
    results = {name: load(name, since) for name in BENCHES}

    rows: list[Row] = []
    builders = {
        "import_cost": rows_import,
        "emulator": lambda r: rows_emulator(r, results.get("triggerer_scale")),
        "transport_cost": rows_transport,
        "triggerer_scale": rows_triggers,
        "housekeeping_throughput": rows_housekeeping,
        "poll_economy": rows_poll,
    }
    for name, build in builders.items():
        result = results.get(name)
        if name in skip:
            continue
        if result is None:
            rows.append((name, "-", "no result", "-", "-", "FAIL"))
            continue
        try:
            rows.extend(build(result))
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
            rows.append((name, "-", f"unreadable result: {exc!r}", "-", "-", "FAIL"))

    total = round(time.monotonic() - started, 1)
    where = machine()
    title = (
        f"make bench{' --quick' if args.quick else ''} - {where['measured_at']} - {where['cpu_count']} cores, "
        f"Python {where['python']}, {where['platform']}, load average (1/5/15 min) at start "
        f"{'/'.join(f'{x:.2f}' for x in load_at_start)}, at end {'/'.join(f'{x:.2f}' for x in os.getloadavg())} "
        f"- {total:.0f} s"
    )
    table = text_table(rows)
    print(f"\n{title}\n{table}")
    failed = [r[0] for r in rows if r[5] == "FAIL"]
    print(f"\n{len(failed)} target(s) missed" + (": " + "; ".join(failed) if failed else ""))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "summary.md").write_text(f"{title}\n\n{markdown_table(rows)}\n")
    (RESULTS / "summary.json").write_text(
        json.dumps(
            {"title": title, "quick": args.quick, "rows": [dict(zip((*HEADER[:-1], "verdict"), r, strict=True))
                                                          for r in rows],
             "runs": runs, "missed": failed, "machine": where, "duration_s": total},
            indent=2,
        )
        + "\n"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Hostile servers: per behaviour and client, how long a call took against its deadline and how much memory it cost.

The misbehaving server (``tests/hostile/server.py``) runs in this process; every call runs in a fresh Python
process (so its peak RSS is its own), with a 2 s deadline and per-read timeouts of 30 s (only a per-call bound
ends the slow ones in time). Printed per case: the error class, the seconds taken, and the peak RSS growth of the
call over the process's RSS just before it (MB). Targets: seconds <= deadline + 1, RSS growth <= 50 MB.

    python bench/hostile.py [--deadline 2.0]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CASES = [
    ("drip_headers", "get", "ok"),
    ("drip_body", "get", "ok"),
    ("drip_body", "wait", "ok"),
    ("drip_body", "list", "ok"),
    ("drip_body", "cancel", "ok"),
    ("continue_forever", "get", "ok"),
    ("silent", "get", "ok"),
    ("ok", "get", "silent"),  # the token endpoint never answers
    ("ok", "get", "drip_body"),  # the token endpoint drips
    ("huge_body", "get", "ok"),
    ("gzip_bomb", "get", "ok"),
    ("long_header", "get", "ok"),
    ("many_headers", "get", "ok"),
    ("deep_json", "get", "ok"),
    ("endless_pages", "list", "ok"),
]


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def one(flavour: str, verb: str, host: str, token_uri: str, with_token: bool, deadline: float) -> None:
    """Child process: one call; prints a JSON line."""
    import asyncio

    import google.oauth2.credentials

    from airflow_provider_gcp_ops.operations.async_client import AsyncOperationsClient
    from airflow_provider_gcp_ops.operations.client_base import Timeouts
    from airflow_provider_gcp_ops.operations.retry import RetryPolicy
    from airflow_provider_gcp_ops.operations.sync_client import OperationsClient

    creds = (
        google.oauth2.credentials.Credentials(
            token=None, refresh_token="r", client_id="c", client_secret="s", token_uri=token_uri
        )
        if with_token
        else None
    )
    settings: dict[str, Any] = {
        "emulator_host": host,
        "timeouts": Timeouts(connect=10.0, read=30.0),
        "retry": RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.05),
    }
    name, parent = "projects/p/regions/us-central1/operations/op", "projects/p/regions/us-central1"
    before = _rss_mb()
    started = time.monotonic()
    outcome = "ok"
    try:
        if flavour == "sync":
            with OperationsClient(credentials=creds, **settings) as client:
                if verb == "list":
                    list(client.list(parent, timeout=deadline))
                else:
                    getattr(client, verb)(name, timeout=deadline)
        else:

            async def run() -> None:
                async with AsyncOperationsClient(credentials=creds, **settings) as client:
                    if verb == "list":
                        _ = [op async for op in client.list(parent, timeout=deadline)]
                    else:
                        await getattr(client, verb)(name, timeout=deadline)

            asyncio.run(run())
    except Exception as exc:
        outcome = type(exc).__name__
    elapsed = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"error": outcome, "seconds": elapsed, "rss_mb": max(0.0, peak - before)}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deadline", type=float, default=2.0)
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        flavour, verb, host, token_uri, with_token = args.child
        one(flavour, verb, host, token_uri, with_token == "1", args.deadline)
        return 0

    from tests.hostile.server import HostileServer

    server = HostileServer().start()
    worst_over, worst_rss, failures = 0.0, 0.0, 0
    print(f"{'behaviour':<18} {'token':<10} {'verb':<7} {'client':<6} {'error':<22} {'s':>6} {'RSS MB':>7}")
    try:
        for mode, verb, token_mode in CASES:
            for flavour in ("sync", "async"):
                server.mode, server.token_mode = mode, token_mode
                with_token = "0" if token_mode == "ok" else "1"
                cmd = [sys.executable, __file__, "--deadline", str(args.deadline), "--child", flavour, verb]
                cmd += [server.host, server.token_uri, with_token]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120, cwd=ROOT)
                row = json.loads(out.stdout.strip().splitlines()[-1])
                over = row["seconds"] - args.deadline
                ok = row["error"] != "ok" and over <= 1.0 and row["rss_mb"] <= 50
                failures += not ok
                worst_over, worst_rss = max(worst_over, over), max(worst_rss, row["rss_mb"])
                print(
                    f"{mode:<18} {token_mode:<10} {verb:<7} {flavour:<6} {row['error']:<22} "
                    f"{row['seconds']:>6.2f} {row['rss_mb']:>7.1f}{'' if ok else '  <-- MISS'}"
                )
    finally:
        server.stop()
    summary = f"worst: {worst_over:+.2f} s past the {args.deadline} s deadline, +{worst_rss:.1f} MB RSS"
    print(f"{summary}; misses: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Measure how many GetOperation requests per second the emulator serves.

The emulator runs in its own process (the CLI, ephemeral port, access log off); 1,000 operations are seeded
through the admin API; a load generator in other process(es) keeps N keep-alive HTTP/1.1 connections busy
with GETs over those operations for a warm-up, then counts completed 200s for a fixed window.

The default load generator is a lean asyncio-streams client (one request in flight per connection, no
pipelining): on a 2-core machine an httpx client burns as much CPU as the server it measures, so it would report
the client's limit. ``--client httpx`` measures with httpx.AsyncClient instead, for comparison.

    python bench/emulator_bench.py [--concurrency 32] [--duration 5] [--warmup 1] [--procs 1] [--auth]

Prints ``emulator GET/s: <n> (concurrency C, duration D s, errors E)`` and a JSON line; writes
``bench/results/emulator.json``. Exits 1 if any request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "emulator.json"
ENV_PREFIX = "GCP_OPERATIONS_EMULATOR_HOST="
TARGET_GETS_PER_S = 2000


def start_emulator(auth: bool) -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, "-m", "airflow_provider_gcp_ops.emulator", "--host", "127.0.0.1", "--port", "0"]
    if not auth:
        cmd.append("--no-auth")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    deadline = time.monotonic() + 20
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(ENV_PREFIX):
            return proc, line.strip()[len(ENV_PREFIX) :]
    proc.kill()
    raise RuntimeError("the emulator did not print its address")


def seed_operations(host: str, count: int) -> list[str]:
    names = []
    with httpx.Client(base_url=f"http://{host}", timeout=10, trust_env=False) as client:
        for i in range(count):
            service = ("dataproc", "alloydb", "aiplatform", "spanner")[i % 4]
            response = client.post("/emulator/v1/operations", json={"service": service, "duration_s": 3600})
            response.raise_for_status()
            names.append(response.json()["name"])
    return names


# -- load generator (runs in a child process) ------------------------------------------------------------------


async def _raw_connection(
    host: str, port: int, paths: list[str], offset: int, headers: bytes, t_start: float, t_end: float
) -> tuple[int, int]:
    ok = errors = 0
    reader, writer = await asyncio.open_connection(host, port)
    i = offset
    try:
        while True:
            now = time.monotonic()
            if now >= t_end:
                break
            path = paths[i % len(paths)]
            i += 1
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n".encode() + headers + b"\r\n")
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            if time.monotonic() >= t_start and now >= t_start:
                if status == 200:
                    ok += 1
                else:
                    errors += 1
    except (OSError, asyncio.IncompleteReadError):
        errors += 1
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    return ok, errors


async def _httpx_connection(
    client: httpx.AsyncClient, paths: list[str], offset: int, t_start: float, t_end: float
) -> tuple[int, int]:
    ok = errors = 0
    i = offset
    while True:
        now = time.monotonic()
        if now >= t_end:
            break
        path = paths[i % len(paths)]
        i += 1
        try:
            response = await client.get(path)
            status = response.status_code
        except httpx.HTTPError:
            status = 0
        if now >= t_start:
            if status == 200:
                ok += 1
            else:
                errors += 1
    return ok, errors


async def _load(kind: str, host: str, paths: list[str], conns: int, auth: bool, t_start: float, t_end: float) -> Any:
    hostname, port = host.rsplit(":", 1)
    if kind == "raw":
        headers = b"Authorization: Bearer bench-token\r\n" if auth else b""
        tasks = [_raw_connection(hostname, int(port), paths, i * 7, headers, t_start, t_end) for i in range(conns)]
        return await asyncio.gather(*tasks)
    limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
    auth_headers = {"Authorization": "Bearer bench-token"} if auth else {}
    async with httpx.AsyncClient(
        base_url=f"http://{host}", limits=limits, headers=auth_headers, timeout=10, trust_env=False
    ) as client:
        return await asyncio.gather(*[_httpx_connection(client, paths, i * 7, t_start, t_end) for i in range(conns)])


def _worker(
    kind: str, host: str, paths: list[str], conns: int, auth: bool, t_start: float, t_end: float, out: Any
) -> None:
    coro = _load(kind, host, paths, conns, auth, t_start, t_end)
    try:
        import uvloop

        results = uvloop.run(coro)
    except ImportError:
        results = asyncio.run(coro)
    out.put((sum(r[0] for r in results), sum(r[1] for r in results)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=32, help="keep-alive connections in total")
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first")
    parser.add_argument("--operations", type=int, default=1000)
    parser.add_argument("--procs", type=int, default=1, help="load generator processes")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw")
    parser.add_argument("--auth", action="store_true", help="run the emulator with auth (send a bearer token)")
    args = parser.parse_args()

    proc, host = start_emulator(args.auth)
    try:
        t0 = time.monotonic()
        names = seed_operations(host, args.operations)
        seed_s = time.monotonic() - t0
        paths = [f"/v1/{n}" for n in names]
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        # Start the clock after the workers had time to spawn (about 0.3 s each with this interpreter).
        t_start = time.monotonic() + 1.0 + args.warmup
        t_end = t_start + args.duration
        per_proc = max(1, args.concurrency // args.procs)
        workers = [
            ctx.Process(target=_worker, args=(args.client, host, paths, per_proc, args.auth, t_start, t_end, out))
            for _ in range(args.procs)
        ]
        for w in workers:
            w.start()
        totals = [out.get(timeout=args.duration + args.warmup + 30) for _ in workers]
        for w in workers:
            w.join(10)
        with httpx.Client(base_url=f"http://{host}", timeout=10, trust_env=False) as client:
            stats = client.get("/emulator/v1/stats").json()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()

    ok = sum(t[0] for t in totals)
    errors = sum(t[1] for t in totals)
    rate = ok / args.duration
    result = {
        "benchmark": "emulator_get",
        "gets_per_s": round(rate, 1),
        "target_gets_per_s": TARGET_GETS_PER_S,
        "meets_target": rate >= TARGET_GETS_PER_S,
        "concurrency": per_proc * args.procs,
        "client_processes": args.procs,
        "client": args.client,
        "auth": args.auth,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "operations": args.operations,
        "seed_s": round(seed_s, 2),
        "errors": errors,
        "server_max_in_flight": stats.get("max_in_flight"),
        "server_requests_get": stats.get("requests", {}).get("get"),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }
    summary = f"concurrency {result['concurrency']}, duration {args.duration:g} s, errors {errors}"
    print(f"emulator GET/s: {rate:.0f} ({summary})")
    print(json.dumps(result))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

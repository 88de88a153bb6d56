"""Helpers the benchmarks share: the emulator in its own process, seeding, CPU / RSS / event-loop lag probes.

Every speed figure of ``bench/`` is a ratio against a peer measured in the same run, on the same machine (2 noisy
shared cores): absolute numbers vary run to run, ratios much less.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import os
import platform
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ENV_VAR = "GCP_OPERATIONS_EMULATOR_HOST"
_ANNOUNCE = ENV_VAR + "="


# -- the emulator in another process ---------------------------------------------------------------------------


@dataclass
class Emulator:
    """The emulator CLI in a subprocess: ``host`` is ``127.0.0.1:PORT``; ``admin()`` a short-lived admin client."""

    proc: subprocess.Popen[str]
    host: str

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def admin(self) -> Any:
        from airflow_provider_gcp_ops.emulator.admin_client import EmulatorAdmin

        return EmulatorAdmin(self.url, timeout_s=60.0)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@contextlib.contextmanager
def emulator(
    *, time_scale: float = 1.0, seed: int = 0, auth: bool = False, log: str = "emulator"
) -> Iterator[Emulator]:
    """``python -m airflow_provider_gcp_ops.emulator --port 0`` in its own process, stopped on every way out.

    Its own log (stderr: e.g. a stalled request whose client left) goes to ``bench/results/<log>.log``.
    """
    cmd = [sys.executable, "-m", "airflow_provider_gcp_ops.emulator", "--host", "127.0.0.1", "--port", "0"]
    cmd += ["--time-scale", repr(time_scale), "--seed", str(seed)]
    if not auth:
        cmd.append("--no-auth")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    RESULTS.mkdir(parents=True, exist_ok=True)
    with (RESULTS / f"{log}.log").open("w") as stderr:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env, cwd=ROOT)
    emu: Emulator | None = None
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith(_ANNOUNCE):
                emu = Emulator(proc, line.strip()[len(_ANNOUNCE) :])
                break
        if emu is None:
            raise RuntimeError("the emulator did not print its address")
        yield emu
    finally:
        if emu is not None:
            emu.stop()
        elif proc.poll() is None:
            proc.kill()
            proc.wait(5)


def create_operations(host: str, specs: Sequence[dict[str, Any]], concurrency: int = 8) -> list[dict[str, Any]]:
    """Create operations through the admin API (``POST /emulator/v1/operations``); results in order.

    A lean HTTP/1.1 keep-alive client on asyncio streams: seeding 10,000 operations with httpx costs more client
    CPU than the emulator spends creating them (its pool scans every connection per request).
    """
    hostname, port = host.rsplit(":", 1)

    async def run() -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [{} for _ in specs]
        queue = list(enumerate(specs))
        queue.reverse()

        async def worker() -> None:
            reader, writer = await asyncio.open_connection(hostname, int(port))
            try:
                while queue:
                    i, spec = queue.pop()
                    body = json.dumps(spec).encode()
                    writer.write(
                        b"POST /emulator/v1/operations HTTP/1.1\r\nHost: " + host.encode()
                        + b"\r\nContent-Type: application/json\r\nContent-Length: "
                        + str(len(body)).encode() + b"\r\n\r\n" + body
                    )
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = 0
                    for line in head.split(b"\r\n"):
                        if line[:15].lower() == b"content-length:":
                            length = int(line[15:])
                    payload = await reader.readexactly(length)
                    if head[9:12] != b"200":
                        raise RuntimeError(f"creating {spec} failed: {head[:12]!r} {payload[:300]!r}")
                    out[i] = json.loads(payload)
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return out

    return asyncio.run(run())


def run_child(args: Sequence[str], timeout: float, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``python <args>`` in a fresh interpreter; its last stdout line is a JSON result."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env or {})}
    done = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=full_env, cwd=ROOT, check=False
    )
    lines = [ln for ln in done.stdout.strip().splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"child {args[:2]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


@contextlib.contextmanager
def output_to(path: Path) -> Iterator[None]:
    """Send this process's stdout and stderr (file descriptors 1 and 2: Airflow's task logs too) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("w") as fh:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


# -- probes ---------------------------------------------------------------------------------------------------


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{key} not in /proc/self/status")


def rss_kb() -> int:
    """Resident set size now (``VmRSS``)."""
    return _status_kb("VmRSS")


def peak_rss_kb() -> int:
    """The highest resident set size since the process started (``VmHWM``)."""
    return _status_kb("VmHWM")


def cpu_seconds() -> float:
    """User + system CPU seconds of this process (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class LagTicker:
    """Event-loop lag: a task sleeps ``interval`` s again and again; each overshoot is one sample (seconds).

    Also samples ``VmRSS`` every ``rss_every`` ticks, for the peak while the ticker runs.
    """

    interval: float = 0.05
    rss_every: int = 5
    samples: list[float] = field(default_factory=list)
    at: list[float] = field(default_factory=list)  # when each sample was taken (monotonic)
    peak_rss_kb: int = 0
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._tick())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _tick(self) -> None:
        ticks = 0
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.samples.append(max(0.0, time.perf_counter() - before - self.interval))
            self.at.append(time.monotonic())
            ticks += 1
            if ticks % self.rss_every == 0:
                self.peak_rss_kb = max(self.peak_rss_kb, rss_kb())


class GcPauses:
    """Time spent in the cyclic garbage collector (``gc.callbacks``): count, total and longest pause, per generation."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self.full: list[tuple[float, float, int]] = []  # (seconds since enter, pause s, objects collected)
        self._t = 0.0
        self._t0 = time.perf_counter()

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t = time.perf_counter()
        else:
            generation = int(info.get("generation", -1))
            self.pauses.append((generation, time.perf_counter() - self._t))
            if generation == 2:
                self.full.append((self._t - self._t0, self.pauses[-1][1], int(info.get("collected", 0))))

    def __enter__(self) -> GcPauses:
        self._t0 = time.perf_counter()
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def summary(self) -> dict[str, Any]:
        longest = max((p for _, p in self.pauses), default=0.0)
        return {
            "collections": len(self.pauses),
            "full_collections": sum(1 for g, _ in self.pauses if g == 2),
            "total_ms": round(1000 * sum(p for _, p in self.pauses), 1),
            "max_ms": round(1000 * longest, 1),
            # When each full pass came (s into the window), how long it took (ms), what it freed (objects).
            "full": [[round(at, 2), round(1000 * pause, 1), collected] for at, pause, collected in self.full],
        }


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-quantile (0..1) by the nearest-rank method; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


# -- results --------------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
        "loadavg_1m": round(load[0], 2),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_result(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({**result, "machine": machine()}, indent=2, default=str) + "\n")
    return path


def raise_fd_limit() -> None:
    """Open-file soft limit up to the hard limit (thousands of sockets in the peer runs); inherited by children."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard))

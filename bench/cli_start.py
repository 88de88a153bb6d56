"""Measure how fast ``gcp-operations`` answers: wall time of whole commands, fresh process each, vs peers.

The on-call engineer types it at a terminal, so what counts is process start to exit. Each figure is the median
over ``--runs`` fresh processes of:

- ``python -c pass``: the interpreter's own floor on this machine;
- ``gcp-operations --help`` and ``services``: argparse + the service table (+ rich for the table);
- ``gcp-operations get NAME`` against the emulator (its own process): the HTTP stack, one GET, the rich table;
- ``python -c "import airflow.sdk"``: what merely importing Airflow would add (the CLI never does);
- a check that ``get`` imported no ``airflow`` module at all.

    python bench/cli_start.py [--runs 15]

Prints the table and writes ``bench/results/cli_start.json``. Exits 1 if ``get`` imported Airflow or if ``get``
took longer than the Airflow import alone (a CLI built on Airflow could never be faster than that).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import emulator, write_result

SCRIPT = Path(sys.executable).with_name("gcp-operations")
AIRFLOW_CHECK = (
    "import runpy, sys; sys.argv = ['gcp-operations', 'get', {name!r}, '--format', 'json'];\n"
    "try:\n    runpy.run_module('airflow_provider_gcp_ops.cli', run_name='__main__')\n"
    "except SystemExit:\n    pass\n"
    "n = sum(1 for m in sys.modules if m == 'airflow' or m.startswith('airflow.'))\n"
    "print('AIRFLOW_MODULES', n, file=sys.stderr)"
)


def median_ms(cmd: list[str], runs: int, env: dict[str, str]) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, timeout=120)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    cli = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "airflow_provider_gcp_ops.cli"]
    with emulator(log="cli_start_emulator") as emu:
        name = emu.admin().create_operation("dataproc", duration_s=3600)["name"]
        env = {**os.environ, "GCP_OPERATIONS_EMULATOR_HOST": emu.host, "NO_PROXY": "127.0.0.1"}
        figures = {
            "python -c pass": median_ms([sys.executable, "-c", "pass"], args.runs, env),
            "gcp-operations --help": median_ms([*cli, "--help"], args.runs, env),
            "gcp-operations services": median_ms([*cli, "services"], args.runs, env),
            "gcp-operations get NAME (emulator)": median_ms([*cli, "get", name], args.runs, env),
            'python -c "import airflow.sdk"': median_ms([sys.executable, "-c", "import airflow.sdk"], args.runs, env),
        }
        probe = subprocess.run(
            [sys.executable, "-c", AIRFLOW_CHECK.format(name=name)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
    airflow_modules = int(probe.stderr.rsplit("AIRFLOW_MODULES", 1)[-1].split()[0])
    width = max(len(k) for k in figures)
    for label, ms in figures.items():
        print(f"{label:<{width}}  median {ms:7.0f} ms")
    print(f"airflow modules imported by `get`: {airflow_modules}")
    get_ms = figures["gcp-operations get NAME (emulator)"]
    ok = airflow_modules == 0 and get_ms < figures['python -c "import airflow.sdk"']
    write_result("cli_start", {"runs": args.runs, "median_ms": figures, "airflow_modules": airflow_modules, "ok": ok})
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

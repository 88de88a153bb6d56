"""Measure what importing our operator and sensor modules adds on top of ``import airflow.sdk``.

DAG processors import operator modules on every parse of every DAG file that uses them, so this cost is paid
thousands of times a day. Each sample is a fresh interpreter that imports ``airflow.sdk`` (what any DAG file
does), then times only the import of our three public modules with ``time.perf_counter``. The median over
``--runs`` interpreters is reported (the first runs warm the OS page cache; the median is robust to them).

    python bench/import_cost.py [--runs 15]

Prints ``import cost over airflow.sdk: median X ms (target < 35 ms)`` and writes
``bench/results/import_cost.json``. Also checks, in the same interpreters, that none of the heavy modules (HTTP
stacks, google-auth, the hook, the trigger) was imported. Exits 1 if the target is missed or one was imported.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "import_cost.json"
TARGET_MS = 35.0
MODULES = (
    "airflow_provider_gcp_ops.operators.cancel",
    "airflow_provider_gcp_ops.operators.start",
    "airflow_provider_gcp_ops.sensors.operation",
)
FORBIDDEN = (
    "aiohttp",
    "httpx",
    "requests",
    "google.auth",
    "airflow_provider_gcp_ops.hooks.operations",
    "airflow_provider_gcp_ops.triggers.operation",
    "airflow_provider_gcp_ops.operations.sync_client",
    "airflow_provider_gcp_ops.operations.async_client",
)

# The probe: import airflow.sdk untimed, then time our imports; report which forbidden modules got loaded by us.
PROBE = f"""
import sys, time, json
import airflow.sdk
before = set(sys.modules)
t = time.perf_counter()
{"; ".join(f"import {m}" for m in MODULES)}
elapsed = time.perf_counter() - t
added = set(sys.modules) - before
forbidden = sorted(m for m in added if any(m == f or m.startswith(f + ".") for f in {FORBIDDEN!r}))
print(json.dumps({{"seconds": elapsed, "forbidden": forbidden, "added": len(added)}}))
"""


def sample() -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    samples = [sample() for _ in range(args.runs)]
    ms = sorted(float(s["seconds"]) * 1000 for s in samples)  # type: ignore[arg-type]
    forbidden = sorted({m for s in samples for m in s["forbidden"]})  # type: ignore[attr-defined]
    median = statistics.median(ms)
    report = {
        "what": "time to import our operator and sensor modules after `import airflow.sdk`, fresh interpreter each",
        "modules": list(MODULES),
        "runs": args.runs,
        "median_ms": round(median, 2),
        "min_ms": round(ms[0], 2),
        "max_ms": round(ms[-1], 2),
        "samples_ms": [round(x, 2) for x in ms],
        "modules_added": samples[-1]["added"],
        "forbidden_imported": forbidden,
        "target_ms": TARGET_MS,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"import cost over airflow.sdk: median {median:.1f} ms (target < {TARGET_MS:.0f} ms)")
    spread = f"min {ms[0]:.1f} ms, max {ms[-1]:.1f} ms over {args.runs} interpreters"
    print(f"{spread}; forbidden modules imported: {forbidden or 'none'}")
    return 0 if median < TARGET_MS and not forbidden else 1


if __name__ == "__main__":
    sys.exit(main())

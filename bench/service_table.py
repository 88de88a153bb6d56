"""Measure what the generated service table costs: the first name resolution (the table loads lazily then) and
the table's memory.

Each sample is a fresh interpreter: it imports the library's names module (untimed), then times the first
``resolve_operation`` (loads ``service_table.json`` and the overlay, builds 144 rows) and the first request build;
``tracemalloc`` measures what the loaded table holds after that first resolve, and after every API's collections
have been built (what a process that touches every service would hold). Medians over ``--runs`` interpreters.

    python bench/service_table.py [--runs 9]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

PROBE = """
import json, sys, time, tracemalloc, gc
from airflow_provider_gcp_ops.operations import names, core
if sys.argv[1] == "memory":
    tracemalloc.start()
gc.collect()
base = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0
t = time.perf_counter()
ref = names.resolve_operation("projects/p/locations/us/operations/1", service="documentai")
first = time.perf_counter() - t
t = time.perf_counter()
core.get_request(ref)
build = time.perf_counter() - t
t = time.perf_counter()
names.resolve_operation("//aiplatform.googleapis.com/projects/p/locations/us-central1/operations/2")
second_api = time.perf_counter() - t
gc.collect()
loaded = tracemalloc.get_traced_memory()[0] - base if tracemalloc.is_tracing() else 0
from airflow_provider_gcp_ops.operations.services import services
for spec in services():
    for v in spec.versions:
        spec.collections(v)
gc.collect()
full = tracemalloc.get_traced_memory()[0] - base if tracemalloc.is_tracing() else 0
print(json.dumps({"first_resolve_ms": first * 1e3, "first_request_ms": build * 1e3,
                  "first_aiplatform_ms": second_api * 1e3, "loaded_kb": loaded / 1024, "all_built_kb": full / 1024}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    def median(mode: str) -> dict[str, float]:
        samples = []
        for _ in range(args.runs):
            cmd = [sys.executable, "-c", PROBE, mode]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120)
            samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
        return {k: round(statistics.median(s[k] for s in samples), 2) for k in samples[0]}

    med = {**median("memory"), **{k: v for k, v in median("time").items() if k.endswith("_ms")}}
    print(
        f"service table: first resolve {med['first_resolve_ms']} ms (loads the table), first request "
        f"{med['first_request_ms']} ms, first Vertex AI name {med['first_aiplatform_ms']} ms; memory after the first "
        f"resolve {med['loaded_kb']} KB, with every API's collections built {med['all_built_kb']} KB "
        f"(median of {args.runs} fresh interpreters)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Operator and sensor modules import cheaply: DAG processors import them on every parse.

Checked in a fresh interpreter (this test process has imported everything already). ``airflow.sdk`` itself
loads httpx and tenacity (its execution API client), so for those the check is that *our* import adds nothing;
for the rest the check is absolute.
"""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import sys, json
import airflow.sdk
before = set(sys.modules)
import airflow_provider_gcp_ops.operators.cancel
import airflow_provider_gcp_ops.operators.start
import airflow_provider_gcp_ops.sensors.operation
print(json.dumps({"all": sorted(sys.modules), "added": sorted(set(sys.modules) - before)}))
"""

NEVER = (
    "requests",
    "aiohttp",
    "google.auth",
    "google.oauth2",
    "airflow_provider_gcp_ops.hooks",
    "airflow_provider_gcp_ops.triggers",
    "airflow_provider_gcp_ops.operations",  # even the pure library loads only when a task runs
    "airflow_provider_gcp_ops.emulator",
)
NOT_BY_US = ("httpx", "httpcore", "urllib3", "tenacity", *NEVER)


def _matches(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_operator_and_sensor_modules_import_no_http_auth_hook_or_trigger() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120)
    modules = json.loads(out.stdout.strip().splitlines()[-1])
    assert [m for m in modules["all"] if _matches(m, NEVER)] == []
    assert [m for m in modules["added"] if _matches(m, NOT_BY_US)] == []
    assert "airflow_provider_gcp_ops.sensors.operation" in modules["added"]

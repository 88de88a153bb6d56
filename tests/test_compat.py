"""``_compat`` resolves every moved name from its newest location, without a warning, on the running Airflow.

Checked in a fresh interpreter with warnings as errors after ``import airflow.sdk``: on 3.3, importing one of
these names from ``airflow.exceptions`` emits ``DeprecatedImportWarning`` (a ``FutureWarning``), so trying the
old location first fails here. On 3.1 the SDK lacks them and the core locations must answer.
"""

from __future__ import annotations

import json
import subprocess
import sys

import airflow

PROBE = """
import json, sys, warnings
import airflow.sdk
warnings.simplefilter("error")
from airflow_provider_gcp_ops import _compat
where = {}
for name in _compat.__all__:
    value = getattr(_compat, name)
    where[name] = value.__module__ if isinstance(value, type) else type(value).__module__
print(json.dumps(where))
"""

CORE_3_1 = {
    "conf": "airflow.configuration",
    "TaskInstanceKey": "airflow.models.taskinstancekey",
}


def test_names_come_from_the_newest_location_without_a_warning() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120)
    where: dict[str, str] = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(where) >= {"conf", "TaskInstanceKey", "AirflowFailException", "AirflowNotFoundException"}
    major_minor = tuple(int(p) for p in airflow.__version__.split(".")[:2])
    if major_minor >= (3, 2):
        assert {n: m for n, m in where.items() if not m.startswith("airflow.sdk")} == {}
    else:
        assert where == {n: CORE_3_1.get(n, "airflow.exceptions") for n in where}

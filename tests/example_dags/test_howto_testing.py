"""The example of docs/testing.md: test your own DAG against the emulator, the way a user would.

A real ``airflow dags test`` in a fresh ``AIRFLOW_HOME``, pointed at the emulator by the fixture's environment;
every assertion is about what reached the emulator. docs/testing.md shows this file's test verbatim
(``tests/test_docs.py`` checks that).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from airflow_provider_gcp_ops.emulator import EmulatorServer

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"


def airflow(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """Run the Airflow CLI in its own AIRFLOW_HOME; GCP_OPERATIONS_EMULATOR_HOST comes from the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env |= {"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS)}
    env |= {"AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    command = [str(Path(sys.executable).with_name("airflow")), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_the_cancel_dag_cancels_the_operation(gcp_ops_emulator_env: EmulatorServer, tmp_path: Path) -> None:
    emu = gcp_ops_emulator_env  # a fresh emulator; GCP_OPERATIONS_EMULATOR_HOST points at it
    op = emu.admin.create_operation(service="dataproc", duration_s=600, cancel_delay_s=0.2)

    assert airflow("db", "migrate", home=tmp_path).returncode == 0
    conf = json.dumps({"operation_name": op["name"]})
    run = airflow("dags", "test", "example_gcp_ops_cancel_operation", "-c", conf, home=tmp_path)

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert emu.admin.history(op["name"])["state"] == "CANCELLED"  # what the server saw, not what the task said
    assert emu.admin.stats()["operations"][op["name"]]["cancel"] == 1  # exactly one cancel

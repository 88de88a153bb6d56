"""Shared test set-up: an isolated AIRFLOW_HOME so no test touches a user's Airflow."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Set before anything imports airflow: its configuration is read once, at import.
_home = Path(tempfile.mkdtemp(prefix="gcp-ops-airflow-home-"))
os.environ.setdefault("AIRFLOW_HOME", str(_home))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")

REPO_ROOT = Path(__file__).resolve().parent.parent

# The emulator fixtures (gcp_ops_emulator, ...) are opt-in for users too: this is how a conftest enables them.
pytest_plugins = ["airflow_provider_gcp_ops.emulator.pytest_plugin"]

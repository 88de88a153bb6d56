"""The emulator's pytest plugin is opt-in: a user's pytest run loads nothing of ours unless asked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PLUGIN = "airflow_provider_gcp_ops.emulator.pytest_plugin"


def _fixtures(tmp_path: Path, *args: str) -> str:
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--fixtures", "-p", "no:cacheprovider", "-c", "/dev/null", *args, "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return out.stdout


def test_not_loaded_unless_asked(tmp_path: Path) -> None:
    assert "gcp_ops_emulator" not in _fixtures(tmp_path)


def test_loaded_with_dash_p(tmp_path: Path) -> None:
    listed = _fixtures(tmp_path, "-p", PLUGIN)
    for fixture in ("gcp_ops_emulator_server", "gcp_ops_emulator ", "gcp_ops_emulator_env"):
        assert fixture in listed

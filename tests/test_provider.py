"""Provider registration: the dict Airflow reads at start-up, and discovery through the entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import jsonschema
import pytest

from airflow_provider_gcp_ops import get_provider_info


def _schema() -> dict[str, object]:
    import airflow

    path = Path(airflow.__file__).parent / "provider_info.schema.json"
    return json.loads(path.read_text())


def test_provider_info_is_valid_against_airflows_schema() -> None:
    # An invalid dict breaks `import airflow` itself (KeyError at configuration load), so validate it here.
    jsonschema.validate(get_provider_info(), _schema())


def test_schema_rejects_a_broken_dict() -> None:
    # Proves the validation above can fail. The schema requires `name` and `description` (package-name is
    # needed by the providers manager at start-up; the test below pins it to the distribution name).
    broken = dict(get_provider_info())
    del broken["description"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, _schema())


def test_package_name_is_the_normalised_distribution_name() -> None:
    from importlib.metadata import distribution

    dist_name = distribution("airflow-provider-gcp-ops").metadata["Name"]
    assert get_provider_info()["package-name"] == dist_name.lower().replace("_", "-")


def test_does_not_claim_the_google_providers_connection_type() -> None:
    types = {c["connection-type"] for c in get_provider_info().get("connection-types", [])}
    assert "google_cloud_platform" not in types


def test_entry_point_resolves_to_get_provider_info() -> None:
    eps = [
        ep for ep in entry_points(group="apache_airflow_provider") if ep.value.startswith("airflow_provider_gcp_ops")
    ]
    assert len(eps) == 1
    assert eps[0].load() is get_provider_info


def test_connection_type_hook_class_is_importable() -> None:
    import importlib

    for conn in get_provider_info()["connection-types"]:
        module, _, cls = conn["hook-class-name"].rpartition(".")
        assert hasattr(importlib.import_module(module), cls)


def _airflow(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)  # it logs a line to stdout ahead of the JSON
    return subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_airflow_providers_list_shows_the_provider(tmp_path: Path) -> None:
    result = _airflow("providers", "list", "-o", "json", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    names = {p["package_name"] for p in json.loads(result.stdout)}
    assert "airflow-provider-gcp-ops" in names


def test_airflow_providers_hooks_shows_the_connection_type(tmp_path: Path) -> None:
    result = _airflow("providers", "hooks", "-o", "json", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    types = {h["connection_type"] for h in json.loads(result.stdout)}
    assert "google_cloud_operations" in types

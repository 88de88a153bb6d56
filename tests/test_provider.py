"""Provider registration: the dict Airflow reads at start-up, and discovery through the entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from importlib.metadata import version as _dist_version
from pathlib import Path

import jsonschema
import pytest
from packaging.version import Version

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


# -- what Airflow's own commands list: every key the providers manager reads, through the real CLI ----------
AIRFLOW_VERSION = Version(_dist_version("apache-airflow"))


def _cli_json(tmp_path: Path, *commands: str) -> dict[str, list[dict[str, object]]]:
    """``airflow providers <command> -o json`` for each command, run concurrently, each in its own home."""
    procs = {}
    for command in commands:
        home = tmp_path / command
        home.mkdir()
        env = {**os.environ, "AIRFLOW_HOME": str(home)}
        env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
        procs[command] = subprocess.Popen(
            [sys.executable, "-m", "airflow", "providers", command, "-o", "json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
    out = {}
    for command, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"airflow providers {command}: {stderr[-2000:]}"
        out[command] = json.loads(stdout)
    return out


def test_airflow_lists_our_trigger_hook_links_widgets_and_behaviour(tmp_path: Path) -> None:
    from airflow_provider_gcp_ops.connection_form import CONN_TYPE, FIELDS

    listed = _cli_json(tmp_path, "triggers", "hooks", "links", "widgets", "behaviours")
    ours = "airflow-provider-gcp-ops"
    triggers = {t["class"] for t in listed["triggers"] if t["package_name"] == ours}
    assert triggers == {"airflow_provider_gcp_ops.triggers.operation", "airflow_provider_gcp_ops.triggers.watcher"}
    [hook] = [h for h in listed["hooks"] if h["package_name"] == ours]
    assert hook["class"] == "airflow_provider_gcp_ops.hooks.operations.GoogleOperationsHook"
    assert (hook["connection_type"], hook["hook_name"]) == (CONN_TYPE, "Google Cloud Operations")
    links = {link["extra_link_class_name"] for link in listed["links"]}
    assert {
        "airflow_provider_gcp_ops.links.console.OperationLogsLink",
        "airflow_provider_gcp_ops.links.console.TargetResourceLink",
    } <= links
    widgets = {w["connection_parameter_name"] for w in listed["widgets"] if w["package_name"] == ours}
    if Version("3.2") <= AIRFLOW_VERSION:
        assert widgets == {f"extra__{CONN_TYPE}__{name}" for name in FIELDS}
        assert {"field_behaviours": CONN_TYPE} in listed["behaviours"]
    else:
        # Airflow 3.1 builds widgets and behaviours only from the hooks' get_connection_form_widgets() /
        # get_ui_field_behaviour(), and only where wtforms and Flask-AppBuilder (the FAB provider, not installed
        # here) are: it lists none for any provider then.
        assert widgets == set()
        assert listed["behaviours"] == []


def test_every_listed_module_and_class_imports() -> None:
    import importlib

    from airflow.sdk import BaseOperator, BaseOperatorLink
    from airflow.triggers.base import BaseTrigger

    info = get_provider_info()
    integrations = {i["integration-name"] for i in info["integrations"]}
    for key, base in (("operators", BaseOperator), ("sensors", BaseOperator), ("triggers", BaseTrigger)):
        for entry in info[key]:
            assert entry["integration-name"] in integrations
            for module in entry["python-modules"]:
                mod = importlib.import_module(module)
                own = [v for v in vars(mod).values() if isinstance(v, type) and v.__module__ == module]
                assert any(issubclass(v, base) for v in own), f"{key}: {module} defines no {base.__name__}"
    for path in info["extra-links"]:
        module, _, name = path.rpartition(".")
        assert issubclass(getattr(importlib.import_module(module), name), BaseOperatorLink)

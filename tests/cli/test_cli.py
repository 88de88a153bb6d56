"""``gcp-operations`` end to end: the installed console script in a subprocess, real HTTP to the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_gcp_ops.cli.main import EMULATOR_ENV, ExitCode, parse_duration
from airflow_provider_gcp_ops.emulator import EmulatorServer
from airflow_provider_gcp_ops.operations import client_base, services

SCRIPT = Path(sys.executable).with_name("gcp-operations")
FAILED = {"error": {"code": 9, "message": "disk quota exceeded"}}


def command() -> list[str]:
    """The console script when installed (``pip install -e .``), else the module."""
    return [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "airflow_provider_gcp_ops.cli"]


def base_env(emulator: EmulatorServer | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "GOOGLE_", "GCP_OPERATIONS"))}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1"
    if emulator is not None:
        env[EMULATOR_ENV] = emulator.host
    return env


def cli(
    emulator: EmulatorServer | None, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command(), *args],
        env=env or base_env(emulator),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(result.stdout)


@pytest.fixture
def emu(gcp_ops_emulator: EmulatorServer) -> EmulatorServer:
    return gcp_ops_emulator


def test_emulator_variable_is_the_librarys() -> None:
    assert EMULATOR_ENV == client_base.EMULATOR_ENV


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("1h30m", 5400)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_services_lists_the_table_with_its_verbs(emu: EmulatorServer) -> None:
    result = cli(emu, "services", "--format", "json")
    assert result.returncode == 0, result.stderr
    rows = {row["key"]: row for row in as_json(result)}
    assert set(rows) == {spec.key for spec in services.services()}
    assert rows["run"]["verbs"]["cancel"] is False and rows["dialogflow"]["verbs"]["delete"] is False
    assert rows["dataproc"]["verbs"]["cancel"] is True
    table = cli(emu, "services")
    assert table.returncode == 0
    assert "Cloud Run" in table.stdout and "(no cancel)" in table.stdout


def test_get_exit_code_is_the_operations_state(emu: EmulatorServer) -> None:
    ok = emu.admin.create_operation("dataproc", done=True)["name"]
    failed = emu.admin.create_operation("dataproc", done=True, outcome=FAILED)["name"]
    running = emu.admin.create_operation("dataproc", duration_s=600, pending_s=0)["name"]
    assert cli(emu, "get", ok).returncode == ExitCode.OK
    result = cli(emu, "get", failed, "--format", "json")
    assert result.returncode == ExitCode.FAILED
    body = as_json(result)
    assert (
        body["state"] == "failed" and body["error_message"] == "disk quota exceeded" and body["service"] == "dataproc"
    )
    table = cli(emu, "get", running)
    assert table.returncode == ExitCode.RUNNING
    assert "running" in table.stdout and "RUNNING" in table.stdout  # state, and Dataproc's own status.state


def test_names_in_every_form(emu: EmulatorServer) -> None:
    name = emu.admin.create_operation("datafusion", done=True)["name"]
    ambiguous = cli(emu, "get", name)
    assert ambiguous.returncode == ExitCode.BAD_INPUT and "service" in ambiguous.stderr
    assert cli(emu, "get", name, "--service", "datafusion").returncode == ExitCode.OK
    assert cli(emu, "get", f"//datafusion.googleapis.com/{name}").returncode == ExitCode.OK
    assert cli(emu, "get", f"https://datafusion.googleapis.com/v1/{name}").returncode == ExitCode.OK


def test_bad_input_and_not_found_send_nothing_or_say_so(emu: EmulatorServer) -> None:
    assert cli(emu, "get", "not/a/name").returncode == ExitCode.BAD_INPUT
    assert cli(emu, "list", "projects/p/regions/r", "--service", "nope").returncode == ExitCode.BAD_INPUT
    assert cli(emu, "wait", "x", "--timeout", "soon").returncode == ExitCode.BAD_INPUT  # argparse's own 2
    run_op = emu.admin.create_operation("run", duration_s=600)["name"]
    refused = cli(emu, "cancel", run_op, "--service", "run")
    assert refused.returncode == ExitCode.BAD_INPUT and "UNIMPLEMENTED" in refused.stderr
    assert emu.admin.stats()["requests_total"] == 0  # all refused before any request
    missing = cli(emu, "get", "projects/demo-project/regions/us-central1/operations/nope")
    assert missing.returncode == ExitCode.NOT_FOUND and "not found" in missing.stderr.lower()


def test_auth_errors_have_their_own_code(emu: EmulatorServer, tmp_path: Path) -> None:
    # No emulator: real google-auth ADC discovery, pointed at a key file that does not exist.
    env = base_env(None)
    env["GOOGLE_APPLICATION_CREDENTIALS"] = str(tmp_path / "missing.json")
    result = cli(None, "get", "projects/p/regions/r/operations/o", env=env)
    assert result.returncode == ExitCode.AUTH, result.stderr
    bad_key = tmp_path / "key.json"
    bad_key.write_text('{"type": "service_account"}')
    result = cli(None, "get", "projects/p/regions/r/operations/o", "--key-file", str(bad_key), env=env)
    assert result.returncode == ExitCode.AUTH, result.stderr
    # The emulator and real credentials never mix silently.
    mixed = cli(emu, "get", "projects/p/regions/r/operations/o", "--key-file", str(bad_key))
    assert mixed.returncode == ExitCode.BAD_INPUT and EMULATOR_ENV in mixed.stderr


def test_list_filters_and_formats(emu: EmulatorServer) -> None:
    parent = "projects/demo-project/regions/europe-west1"
    old = emu.admin.create_operation("dataproc", location="europe-west1", duration_s=3 * 3600, created_ago_s=7200)
    emu.admin.create_operation("dataproc", location="europe-west1", duration_s=600)
    failed = emu.admin.create_operation("dataproc", location="europe-west1", done=True, outcome=FAILED)
    everything = as_json(cli(emu, "list", parent, "--format", "json"))
    assert len(everything["operations"]) == 3
    only_failed = as_json(cli(emu, "list", parent, "--state", "failed", "--format", "json"))
    assert [o["name"] for o in only_failed["operations"]] == [failed["name"]]
    older = as_json(cli(emu, "list", parent, "--older-than", "1h", "--format", "json"))
    assert [o["name"] for o in older["operations"]] == [old["name"]]
    server_side = as_json(cli(emu, "list", parent, "--filter", "status.state = DONE", "--format", "json"))
    assert [o["name"] for o in server_side["operations"]] == [failed["name"]]
    capped = cli(emu, "list", parent, "--limit", "2", "--format", "json")
    assert len(as_json(capped)["operations"]) == 2 and "--limit 2" in capped.stderr
    rejected = cli(emu, "list", parent, "--filter", "status.state = = DONE")
    assert rejected.returncode == ExitCode.BAD_INPUT and "INVALID_ARGUMENT" in rejected.stderr
    table = cli(emu, "list", parent)
    assert table.returncode == 0
    assert failed["name"].rsplit("/", 1)[-1] in table.stdout and "disk quota exceeded" in table.stdout


def test_wait_timeout_and_plain_progress_lines(emu: EmulatorServer) -> None:
    name = emu.admin.create_operation("spanner", duration_s=600, metadata={"progress": {"progressPercent": 37}})["name"]
    result = cli(emu, "wait", name, "--timeout", "2s")
    assert result.returncode == ExitCode.TIMEOUT
    lines = [line for line in result.stderr.splitlines() if name in line and "polls" in line]
    assert "still running at the --timeout" in result.stderr
    assert lines and all("37%" in line and "running" in line for line in lines)  # not a TTY: plain lines
    assert "\x1b[" not in result.stderr  # no cursor movement when not a terminal
    assert emu.admin.stats()["cancels"]["total"] == 0


def test_wait_until_done_exit_codes(emu: EmulatorServer) -> None:
    ok = emu.admin.create_operation("dataproc", duration_s=2)["name"]
    result = cli(emu, "wait", ok, "--format", "json")
    assert result.returncode == ExitCode.OK, result.stderr
    assert as_json(result)["state"] == "succeeded"
    failing = emu.admin.create_operation("dataproc", duration_s=1, outcome=FAILED)["name"]
    assert cli(emu, "wait", failing).returncode == ExitCode.FAILED


def test_cancel_wait_and_delete(emu: EmulatorServer) -> None:
    name = emu.admin.create_operation("dataproc", duration_s=600)["name"]
    result = cli(emu, "cancel", name, "--wait", "--timeout", "30s")
    assert result.returncode == ExitCode.CANCELLED, result.stderr
    assert emu.admin.stats()["cancels"]["by_operation"] == {name: 1}
    deleted = cli(emu, "delete", name, "--format", "json")
    assert deleted.returncode == 0 and as_json(deleted) == {"deleted": name, "service": "dataproc"}
    assert emu.admin.history(name)["deleted"] is True
    assert cli(emu, "get", name).returncode == ExitCode.NOT_FOUND


def test_interrupt_without_terminal_leaves_the_operation_running(emu: EmulatorServer) -> None:
    import signal
    import time

    name = emu.admin.create_operation("dataproc", duration_s=600)["name"]
    proc = subprocess.Popen(
        [*command(), "wait", name],
        env=base_env(emu),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while emu.admin.stats()["requests"]["get"] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == ExitCode.INTERRUPTED
    assert "left running" in err
    assert emu.admin.stats()["cancels"]["total"] == 0

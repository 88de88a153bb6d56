"""The example DAGs: they import cleanly, and each does what ``make demo`` promises, against the emulator.

The end-to-end test runs the demo's own scenario (``scripts/demo.py``: the same seeds, the same expectations,
checked from the emulator's history) with ``dag.test()`` in this process instead of ``airflow dags test``
subprocesses: the same task runner, triggers run inline, without a fresh interpreter per DAG.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from airflow.dag_processing.bundles.manager import DagBundlesManager
from airflow.utils.session import create_session
from operators.dagtest import DagBag, sync_bag_to_db

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "example_dags"
DAG_IDS = {
    "example_gcp_ops_cancel_operation",
    "example_gcp_ops_wait_for_operation",
    "example_gcp_ops_start_with_timeout",
    "example_gcp_ops_inspect_and_delete",
    "example_gcp_ops_housekeeping",
}
EVENT_DAG_IDS = {"example_gcp_ops_on_operation_failure"}  # asset-scheduled: run by the system suite, not the demo


def _demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gcp_ops_demo", REPO / "scripts" / "demo.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


demo = _demo()


def _bag() -> DagBag:
    return DagBag(dag_folder=str(EXAMPLES), safe_mode=False)


def test_every_example_dag_imports_without_errors_or_deprecation_warnings() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bag = _bag()
    assert bag.import_errors == {}
    assert bag.captured_warnings == {}  # any warning at all while a DAG file ran
    assert set(bag.dag_ids) == DAG_IDS | EVENT_DAG_IDS
    deprecations = [
        f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})"
        for w in caught
        if issubclass(w.category, DeprecationWarning | PendingDeprecationWarning) or "Deprecat" in w.category.__name__
    ]
    assert deprecations == []
    for dag in bag.dags.values():
        assert "example" in dag.tags
        assert dag.doc_md or dag.description or (dag.fileloc and Path(dag.fileloc).read_text().startswith('"""'))


@pytest.mark.usefixtures("airflow_db")
def test_every_example_dag_end_to_end_against_the_emulator(
    gcp_ops_emulator_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GCP_OPS_EXAMPLE_TIMEOUT_S", str(demo.TIMEOUT_S))  # read when the DAG file is parsed
    bag = _bag()
    with create_session() as session:
        DagBundlesManager().sync_bundles_to_db(session=session)
    sync_bag_to_db(bag, "dags-folder", None)

    def run(dag_id: str, conf: dict[str, Any]) -> str:
        dagrun = bag.dags[dag_id].test(run_conf=conf)
        return str(getattr(dagrun.state, "value", dagrun.state))

    # The sensor's operation runs 3 s: the first poke (in the worker) finds it running, the trigger sees it end.
    scenarios, states, rows = demo.run_in_process(gcp_ops_emulator_env.admin, run, wait_s=3)

    assert {s.dag_id for s in scenarios} == DAG_IDS
    assert states == {s.dag_id: s.run_state for s in scenarios}
    assert [r for r in rows if not r.ok] == []
    assert len(rows) == 14  # 13 + the Document AI batch (a service of the generated table)
    assert any(r.name.startswith("projects/demo-project/locations/us/operations/") and r.ok for r in rows)
    # The sensor deferred: a GET from its poke in the worker, at least one from the trigger.
    [sensed] = [e.name for s in scenarios for e in s.expect if s.dag_id == "example_gcp_ops_wait_for_operation"]
    gets = [r for r in gcp_ops_emulator_env.admin.history(sensed)["requests"] if r["verb"] == "get"]
    assert len(gets) >= 2


def test_the_check_reports_what_did_not_happen(gcp_ops_emulator: Any) -> None:
    """Nothing was run: every cancel and delete the scenario expects is a mismatch, so the demo would exit 1."""
    scenarios = demo.seed(gcp_ops_emulator.admin)
    rows = demo.check(gcp_ops_emulator.admin, scenarios, settle_s=0)
    bad = {r.label for r in rows if not r.ok}
    assert "cluster operation to cancel" in bad
    assert "workflow started by the DAG" in bad
    assert "dataproc: done 10 days ago" in bad
    assert "dataproc: running 1 h" not in bad  # left alone, as expected
    assert "MISMATCH" in demo.operations_table(rows)


def test_housekeeping_tables_are_found_in_a_task_log(tmp_path: Path) -> None:
    log = tmp_path / "hk.log"
    log.write_text(
        "2025 [info] something\n"
        "+------+---+\n| Operations housekeeping: Dataproc | |\n+------+---+\n| listed | 4 |\n"
        "+------+---+ [airflow.task.operators] loc=housekeeping.py:262\n"
        "2025 [info] other\n+--+\n| not ours |\n+--+\n"
    )
    [found] = demo.housekeeping_tables(log)
    assert found.splitlines()[1] == "| Operations housekeeping: Dataproc | |"
    assert found.splitlines()[-1] == "+------+---+"


def _accepts(host: str) -> bool:
    address, _, port = host.rpartition(":")
    try:
        with socket.create_connection((address, int(port)), timeout=1):
            return True
    except OSError:
        return False


def test_the_demo_stops_the_emulator_and_cleans_up_on_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "demo.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    host = home = None
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        for line in proc.stdout:
            if "Operations emulator on " in line:
                host = line.split("Operations emulator on ", 1)[1].split()[0]
            if "airflow db migrate (AIRFLOW_HOME=" in line:
                home = line.split("AIRFLOW_HOME=", 1)[1].rstrip(")\n")
                break
            assert time.monotonic() < deadline
        assert host is not None
        assert home is not None
        assert _accepts(host)
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=30)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, rest
    assert "stopped by SIGTERM" in rest
    assert not _accepts(host)
    assert not Path(home).exists()
    time.sleep(2)  # no child left behind to re-create it (airflow writes airflow.cfg into a missing home)
    assert not Path(home).exists()

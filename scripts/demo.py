"""``make demo``: run every example DAG with ``airflow dags test`` against the Operations emulator, then show what
happened to each remote operation, from the emulator's own records (not from what the tasks believe).

Steps: start the emulator (a subprocess on an ephemeral port, auth on); make a throw-away ``AIRFLOW_HOME``
(``airflow db migrate``, DAGs folder ``example_dags/``, no Airflow examples); seed operations for Dataproc, Data
Fusion, Dialogflow, Data Lineage and Document AI (a service of the generated table); run each example DAG, handing
it its operation through the run's configuration (``dags test -c '{"operation_name": ...}'``, as you would with
``airflow dags trigger -c``); read each operation's history from the emulator; print tables; exit 1 if anything is
not as expected. The emulator
and any running ``dags test`` are stopped on every way out (normal end, error, Ctrl-C, SIGTERM, SIGHUP).

The scenario (seeds and expectations) is plain functions, reused by ``tests/example_dags`` to run the same DAGs
in-process against the test emulator.

    python scripts/demo.py [--keep] [--verbose]
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DAGS_FOLDER = REPO / "example_dags"
PROJECT = "demo-project"
TIMEOUT_S = 3  # the start example's execution_timeout in the demo (GCP_OPS_EXAMPLE_TIMEOUT_S)
HOUR = 3600.0
DAY = 24 * HOUR
WAIT_S = 10.0  # the sensor example's operation, in the demo
SETTLE_S = 15.0  # how long the final check waits for cancels to land (the emulator ends a cancel after ~0.5 s)


# -- the scenario ------------------------------------------------------------------------------------------------
@dataclass
class Expect:
    """What one remote operation should look like at the end, per the emulator's history."""

    label: str
    service: str
    state: str  # RUNNING, SUCCEEDED, FAILED, CANCELLED (the emulator's final phase)
    deleted: bool = False
    cancels: int = 0  # cancel requests the server accepted
    name: str | None = None  # None: the DAG creates it; found by ``prefix`` after the run
    prefix: str | None = None


@dataclass
class Scenario:
    dag_id: str
    what: str
    conf: dict[str, Any]
    run_state: str  # the DAG run's expected end: "success" or "failed"
    expect: list[Expect] = field(default_factory=list)
    prepare: Callable[[], None] | None = None  # creates what must be fresh when the run starts; call just before


def seed(admin: Any, project: str = PROJECT, wait_s: float = WAIT_S) -> list[Scenario]:
    """Create the operations every example DAG acts on; return the scenarios in the order to run them.

    ``wait_s``: how long the sensor example's operation runs, created by its scenario's ``prepare`` right before
    the run, so that the sensor finds it running and really defers (``airflow dags test`` needs about 7 s to
    reach the first poke; ``dag.test()`` in a warm process well under one).
    """

    def op(service: str, **kw: Any) -> str:
        return str(admin.create_operation(service=service, project=project, **kw)["name"])

    cancel_me = op("dataproc", location="us-central1", duration_s=HOUR, cancel_delay_s=0)
    # A Document AI batch process: a service from the generated table, named by its full resource name (which
    # says the service by itself, so the DAG needs no service=).
    batch = op("documentai", location="us", duration_s=HOUR, cancel_delay_s=0)
    delete_me = op("dataproc", location="us-central1", done=True)
    old_ago = {"created_ago_s": 10 * DAY}
    housekeeping = [
        Expect("dataproc: running 13 h", "dataproc", "CANCELLED", cancels=1,
               name=op("dataproc", location="us-central1", duration_s=2 * DAY, created_ago_s=13 * HOUR)),
        Expect("dataproc: running 1 h", "dataproc", "RUNNING",
               name=op("dataproc", location="us-central1", duration_s=2 * DAY, created_ago_s=HOUR)),
        Expect("dataproc: done 10 days ago", "dataproc", "SUCCEEDED", deleted=True,
               name=op("dataproc", location="us-central1", done=True, **old_ago)),
        Expect("datafusion: running 1 day", "datafusion", "CANCELLED", cancels=1,
               name=op("datafusion", location="europe-west1", duration_s=2 * DAY, created_ago_s=DAY)),
        Expect("datafusion: failed 10 days ago", "datafusion", "FAILED", deleted=True,
               name=op("datafusion", location="europe-west1", done=True, outcome={"error": {"code": 13}}, **old_ago)),
        Expect("datalineage: done 10 days ago", "datalineage", "SUCCEEDED", deleted=True,
               name=op("datalineage", location="us", done=True, **old_ago)),
        Expect("datalineage: done 1 day ago", "datalineage", "SUCCEEDED",
               name=op("datalineage", location="us", done=True, created_ago_s=DAY)),
        Expect("dialogflow: done 10 days ago (no delete verb)", "dialogflow", "SUCCEEDED",
               name=op("dialogflow", location="global", done=True, **old_ago)),
        Expect("dialogflow: running (no timestamps)", "dialogflow", "RUNNING",
               name=op("dialogflow", location="global", duration_s=2 * DAY, created_ago_s=DAY)),
    ]  # fmt: skip
    wait = Scenario(
        "example_gcp_ops_wait_for_operation",
        "deferrable sensor until it succeeds",
        {},
        "success",
        [Expect(f"pipeline operation ({wait_s:g} s)", "datafusion", "SUCCEEDED")],
    )

    def start_the_pipeline() -> None:
        name = op("datafusion", location="europe-west1", duration_s=wait_s, outcome={"response": {"name": "p"}})
        wait.conf["operation_name"] = wait.expect[0].name = name

    wait.prepare = start_the_pipeline
    return [
        Scenario(
            "example_gcp_ops_cancel_operation",
            "cancel, wait for the outcome, read it",
            {"operation_name": cancel_me},
            "success",
            [Expect("cluster operation to cancel", "dataproc", "CANCELLED", cancels=1, name=cancel_me)],
        ),
        Scenario(
            "example_gcp_ops_cancel_operation",
            "same DAG, a Document AI batch by full resource name",
            {"operation_name": f"//documentai.googleapis.com/{batch}"},
            "success",
            [Expect("Document AI batch process", "documentai", "CANCELLED", cancels=1, name=batch)],
        ),
        wait,
        Scenario(
            "example_gcp_ops_start_with_timeout",
            f"start a workflow; execution_timeout ({TIMEOUT_S} s) cancels it",
            {"project_id": project, "region": "us-central1", "template": "nightly-etl"},
            "failed",  # the task fails with AirflowTaskTimeout, by design
            [
                Expect(
                    "workflow started by the DAG",
                    "dataproc",
                    "CANCELLED",
                    cancels=1,
                    prefix=f"projects/{project}/regions/us-central1/operations/",
                )
            ],
        ),
        Scenario(
            "example_gcp_ops_inspect_and_delete",
            "list finished, read one, delete its record",
            {"project_id": project, "region": "us-central1", "operation_name": delete_me},
            "success",
            [Expect("finished cluster operation", "dataproc", "SUCCEEDED", deleted=True, name=delete_me)],
        ),
        Scenario(
            "example_gcp_ops_housekeeping",
            "daily: cancel > 12 h running, delete > 7 days done",
            {"project_id": project, "dry_run": False},
            "success",
            housekeeping,
        ),
    ]


@dataclass
class Row:
    dag_id: str
    label: str
    name: str
    expected: str
    actual: str
    ok: bool


def _describe(state: str | None, deleted: bool, cancels: int) -> str:
    parts = [state or "?"]
    if cancels:
        parts.append(f"{cancels} cancel{'s' if cancels != 1 else ''}")
    if deleted:
        parts.append("record deleted")
    return ", ".join(parts)


def _resolve_started(admin: Any, expect: Expect, known: set[str]) -> str | None:
    stats = admin.stats()
    found = sorted(n for n in stats["operations"] if expect.prefix and n.startswith(expect.prefix) and n not in known)
    return found[0] if len(found) == 1 else None


def check(admin: Any, scenarios: Sequence[Scenario], *, settle_s: float = SETTLE_S) -> list[Row]:
    """Compare every expectation with the emulator's history; wait up to ``settle_s`` for cancels to land."""
    known = {e.name for s in scenarios for e in s.expect if e.name}
    deadline = time.monotonic() + settle_s
    while True:
        rows: list[Row] = []
        for scenario in scenarios:
            for expect in scenario.expect:
                name = expect.name or _resolve_started(admin, expect, known)
                expected = _describe(expect.state, expect.deleted, expect.cancels)
                if name is None:
                    rows.append(Row(scenario.dag_id, expect.label, f"{expect.prefix}?", expected, "not found", False))
                    continue
                history = admin.history(name)
                cancels = sum(1 for r in history["requests"] if r["verb"] == "cancel" and r["status"] == 200)
                actual = _describe(history["state"], bool(history["deleted"]), cancels)
                ok = (history["state"], bool(history["deleted"]), cancels) == (
                    expect.state,
                    expect.deleted,
                    expect.cancels,
                )
                rows.append(Row(scenario.dag_id, expect.label, name, expected, actual, ok))
        if all(r.ok for r in rows) or time.monotonic() >= deadline:
            return rows
        time.sleep(0.25)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)), line]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(out)


def _short(name: str, project: str = PROJECT) -> str:
    """``regions/us-central1/operations/…6fbed82c``: enough to recognise an operation in a table."""
    parent, _, op_id = name.rpartition("operations/")
    parent = parent.removeprefix(f"projects/{project}").strip("/")
    return f"{parent + '/' if parent else ''}operations/{op_id if len(op_id) <= 12 else '…' + op_id[-8:]}"


def operations_table(rows: Sequence[Row]) -> str:
    return table(
        ["DAG", "operation", "in projects/" + PROJECT, "expected", "actual (emulator)", ""],
        [[r.dag_id.removeprefix("example_gcp_ops_"), r.label, _short(r.name), r.expected, r.actual,
          "ok" if r.ok else "MISMATCH"] for r in rows],
    )  # fmt: skip


# -- running it ------------------------------------------------------------------------------------------------
class Stop(Exception):
    """A signal asked us to stop."""


class _Signals:
    """Stop signals become :class:`Stop`, except while a child is being started and recorded (see :func:`_spawn`)."""

    holding = False
    pending: int | None = None


def _raise_stop(signum: int, _frame: object) -> None:
    if _Signals.holding:
        _Signals.pending = signum
        return
    raise Stop(signal.Signals(signum).name)


def _spawn(children: list[subprocess.Popen[Any]], argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
    """Start a child in its own process group and record it for clean-up.

    A stop signal that arrived between the fork and the recording would leave a child running that nobody stops
    (an ``airflow db migrate`` re-creating the deleted ``AIRFLOW_HOME``, say): it is held back until then.
    """
    _Signals.holding = True
    try:
        proc = subprocess.Popen(argv, start_new_session=True, **kwargs)  # noqa: S603 - our interpreter, our airflow
        children.append(proc)
    finally:
        _Signals.holding = False
    if _Signals.pending is not None:
        signum, _Signals.pending = _Signals.pending, None
        raise Stop(signal.Signals(signum).name)
    return proc


def _kill_group(proc: subprocess.Popen[Any], grace_s: float = 5.0) -> None:
    if proc.poll() is not None:
        return
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(grace_s)


@contextmanager
def emulator(log_path: Path, children: list[subprocess.Popen[Any]]) -> Iterator[str]:
    """The emulator CLI in its own process group; yields ``host:port``; always stopped on the way out."""
    with log_path.open("wb") as log:
        argv = [sys.executable, "-m", "airflow_provider_gcp_ops.emulator", "--host", "127.0.0.1", "--port", "0"]
        proc = _spawn(children, argv, stdout=subprocess.PIPE, stderr=log)
    try:
        assert proc.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        line = b""
        if selector.select(timeout=30):
            line = proc.stdout.readline()
        selector.close()
        key, _, host = line.decode().strip().partition("=")
        if key != "GCP_OPERATIONS_EMULATOR_HOST" or not host:
            raise RuntimeError(f"the emulator did not start (see {log_path}): {line!r}")
        yield host
    finally:
        _kill_group(proc)
        children.remove(proc)
        if proc.stdout is not None:
            proc.stdout.close()


def run_logged(argv: Sequence[str], env: dict[str, str], log_path: Path, children: list[subprocess.Popen[Any]]) -> int:
    with log_path.open("wb") as log:
        proc = _spawn(children, argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            return proc.wait()
        finally:
            _kill_group(proc)
            children.remove(proc)


def housekeeping_tables(log_path: Path) -> list[str]:
    """The summary tables the housekeeping tasks logged."""
    tables: list[list[str]] = []
    current: list[str] | None = None
    for raw in log_path.read_text(errors="replace").splitlines():
        line = raw.rstrip()
        if line.startswith(("+-", "| ")):
            if current is None:
                current = []
                tables.append(current)
            current.append(line.split(" [airflow", 1)[0])
        else:
            current = None
    return ["\n".join(t) for t in tables if t and "housekeeping" in "".join(t[:3])]


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def run_demo(home: Path, children: list[subprocess.Popen[Any]], step: Callable[[str], None], verbose: bool) -> bool:
    """Emulator, ``db migrate``, seeds, every ``dags test``, the check, the tables; whether all went as expected."""
    from airflow_provider_gcp_ops.emulator import EmulatorAdmin

    airflow = str(Path(sys.executable).with_name("airflow"))
    with emulator(home / "emulator.log", children) as host:
        step(f"Operations emulator on {host} (auth on)")
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "GCP_OPERATIONS_EMULATOR_HOST": host,
            "GCP_OPS_EXAMPLE_TIMEOUT_S": str(TIMEOUT_S),
        }
        env.pop("AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT", None)  # no real credentials near the demo
        step(f"airflow db migrate (AIRFLOW_HOME={home})")
        if run_logged([airflow, "db", "migrate"], env, home / "db-migrate.log", children) != 0:
            print(_tail(home / "db-migrate.log"))
            return False
        with EmulatorAdmin(f"http://{host}") as admin:
            scenarios = seed(admin)
            seeded = sum(1 for s in scenarios for e in s.expect if e.name) + 1  # + the sensor's, made later
            names = "Dataproc, Data Fusion, Dialogflow, Data Lineage, Document AI"
            step(f"seeded {seeded} operations ({names}) in {PROJECT}")
            runs: list[list[str]] = []
            for scenario in scenarios:
                t0 = time.monotonic()
                log = home / f"{scenario.dag_id}.log"
                if scenario.prepare is not None:
                    scenario.prepare()
                conf = json.dumps(scenario.conf)
                step(f"airflow dags test {scenario.dag_id} -c '{conf}'")
                rc = run_logged([airflow, "dags", "test", scenario.dag_id, "-c", conf], env, log, children)
                state = "success" if rc == 0 else "failed"
                ok = state == scenario.run_state
                runs.append(
                    [scenario.dag_id, scenario.what, scenario.run_state, state, f"{time.monotonic() - t0:.0f} s",
                     "ok" if ok else "MISMATCH"]
                )  # fmt: skip
                if verbose or not ok:
                    print(_tail(log), flush=True)
            step("reading each operation's history from the emulator")
            rows = check(admin, scenarios)
    print()
    print(table(["DAG run (airflow dags test)", "what it shows", "expected", "actual", "took", ""], runs))
    print()
    print(operations_table(rows))
    for text in housekeeping_tables(home / "example_gcp_ops_housekeeping.log"):
        print()
        print(text)
    return all(r[-1] == "ok" for r in runs) and all(r.ok for r in rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--keep", action="store_true", help="keep the throw-away AIRFLOW_HOME (logs, DB)")
    parser.add_argument("--verbose", action="store_true", help="print every dags test log, not only failures")
    args = parser.parse_args(argv)

    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, _raise_stop)
    started = time.monotonic()
    home = Path(tempfile.mkdtemp(prefix="gcp-ops-demo-"))
    children: list[subprocess.Popen[Any]] = []

    def step(message: str) -> None:
        print(f"[{time.monotonic() - started:5.1f} s] {message}", flush=True)

    try:
        good = run_demo(home, children, step, args.verbose)
        print()
        step("all as expected" if good else "SOMETHING IS NOT AS EXPECTED (see MISMATCH above)")
        return 0 if good else 1
    except Stop as stop:
        print(f"\nstopped by {stop}; cleaning up", file=sys.stderr)
        return 130
    finally:
        for proc in list(children):
            _kill_group(proc)
        if args.keep:
            print(f"kept {home}", file=sys.stderr)
        else:
            shutil.rmtree(home, ignore_errors=True)


def run_in_process(
    admin: Any, run: Callable[[str, dict[str, Any]], str], project: str = PROJECT, wait_s: float = WAIT_S
) -> tuple[list[Scenario], dict[str, str], list[Row]]:
    """The same scenario with another runner (``run(dag_id, conf) -> run state``): for the tests."""
    scenarios = seed(admin, project, wait_s)
    states: dict[str, str] = {}
    for scenario in scenarios:
        if scenario.prepare is not None:
            scenario.prepare()
        states[scenario.dag_id] = run(scenario.dag_id, scenario.conf)
    return scenarios, states, check(admin, scenarios)


if __name__ == "__main__":
    sys.exit(main())

"""A real Airflow 3 deployment inside a test run: SQLite + LocalExecutor, one process group per component.

What it does (every step has a deadline; nothing is installed, nothing is left behind):

1. A fresh ``AIRFLOW_HOME`` in a temporary directory; ``airflow db migrate`` into it.
2. ``api-server`` (bound to 127.0.0.1), ``scheduler --skip-serve-logs``, ``dag-processor`` and
   ``triggerer --skip-serve-logs``, each started with ``start_new_session=True`` (``setsid``: its own process
   group), stdout/stderr to ``$AIRFLOW_HOME/component-logs/<name>.log``. The scheduler's and triggerer's log
   servers would bind all interfaces, hence ``--skip-serve-logs``.
3. Waits for ``GET /api/v2/monitor/health`` to report the scheduler and the triggerer healthy.
4. Teardown (``stop()``; also from ``atexit``, on SIGTERM of the test process, and through
   ``PR_SET_PDEATHSIG`` when the test process is SIGKILLed): SIGTERM to each component's
   process group, then SIGKILL to whatever is left of it **and** of the processes it had started. Airflow's
   task supervisor puts each task in a process group of its own (``setpgid``), so those are found by walking the
   process tree (``/proc``) before the first signal is sent.

Only the standard library and httpx in this process: Airflow is never imported here, it runs in the components
(the same interpreter's ``airflow`` script: the venv under test).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

DAGS_DIR = Path(__file__).resolve().parent / "dags"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
STOP_GRACE_S = 20.0
MIGRATE_TIMEOUT_S = 240.0
HEALTH_TIMEOUT_S = 180.0


class HarnessError(RuntimeError):
    """The deployment could not be started or a wait ran out; the message says which and what was seen."""


def wait_for(
    what: str, probe: Callable[[], Any], *, timeout: float, interval: float = 0.5, on_timeout: str = ""
) -> Any:
    """Call ``probe`` until it returns something truthy; raise :class:`HarnessError` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = probe()
        except (httpx.TransportError, OSError) as exc:  # a component still starting (not an HTTP error status)
            last = exc
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            raise HarnessError(f"timed out after {timeout:g} s waiting for {what}; last seen: {last!r} {on_timeout}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- process tree ---------------------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, int, str] | None:
    """``(ppid, pgid, starttime)`` of ``pid`` from ``/proc``, or ``None`` when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    # fields[0] is the state; then ppid, pgrp, session, ...; starttime is field 22 of the full line.
    return int(fields[1]), int(fields[2]), fields[19]


def descendants(root: int) -> dict[int, str]:
    """Every live descendant of ``root`` (not ``root`` itself): ``{pid: starttime}``."""
    children: dict[int, list[int]] = {}
    starts: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        info = _stat(int(entry))
        if info is None:
            continue
        children.setdefault(info[0], []).append(int(entry))
        starts[int(entry)] = info[2]
    found: dict[int, str] = {}
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found[child] = starts[child]
                todo.append(child)
    return found


def _kill_if_same(pid: int, starttime: str, sig: int) -> None:
    info = _stat(pid)
    if info is not None and info[2] == starttime:  # not a recycled pid
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the test process dies, even by SIGKILL (Linux ``PR_SET_PDEATHSIG``).

    The last resort behind finalizers, ``atexit`` and the SIGTERM handler: Airflow's components then shut down
    their own workers and task processes.
    """
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG = 1


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- components -------------------------------------------------------------------------------------------------


@dataclass(eq=False)
class Component:
    name: str
    argv: list[str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    generation: int = 0
    user: str | None = None  # run as this user (PostgreSQL refuses to run as root)

    @property
    def pgid(self) -> int:
        assert self.proc is not None
        return self.proc.pid  # start_new_session: the leader's pid is the group id

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, env: Mapping[str, str], cwd: Path) -> None:
        self.generation += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start #{self.generation}: {' '.join(self.argv)} =====\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                self.argv,
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, no locks
                user=self.user,
            )
        self.started_at = time.monotonic()
        _LIVE.add(self)

    def stop(self, grace: float = STOP_GRACE_S) -> float:
        """SIGTERM the group, wait up to ``grace``, then SIGKILL the group and every process it had started.

        Returns the seconds it took. Safe to call twice.
        """
        started = time.monotonic()
        proc = self.proc
        if proc is None:
            return 0.0
        pgid = self.pgid
        tree = descendants(proc.pid)  # before any signal: orphans lose their parent link
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            tree.update(descendants(proc.pid) if proc.poll() is None else {})
            if proc.poll() is not None and not _group_alive(pgid):
                break
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        for pid, starttime in tree.items():  # task processes live in process groups of their own
            _kill_if_same(pid, starttime, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        self.proc = None
        _LIVE.discard(self)
        return time.monotonic() - started

    def tail(self, max_bytes: int = 12_000) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return "(no log)"
        return data[-max_bytes:].decode(errors="replace")


_LIVE: set[Component] = set()


def _stop_all_live() -> None:
    for component in list(_LIVE):
        with contextlib.suppress(Exception):
            component.stop(grace=5.0)


atexit.register(_stop_all_live)


@contextlib.contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """While the deployment lives, SIGTERM to the test process unwinds it (fixture teardown runs) like Ctrl-C."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- the deployment ---------------------------------------------------------------------------------------------


@dataclass
class Deployment:
    """Airflow's four components against one fresh ``AIRFLOW_HOME``; :meth:`start` / :meth:`stop`."""

    emulator_host: str
    dags_dir: Path = DAGS_DIR
    parallelism: int = 4
    extra_env: Mapping[str, str] = field(default_factory=dict)
    keep_home: bool = False
    home: Path = field(init=False)
    port: int = field(init=False)
    env: dict[str, str] = field(init=False)
    components: dict[str, Component] = field(init=False)
    timings: dict[str, float] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="gcp-ops-system-"))
        (self.home / "component-logs").mkdir()
        self.port = free_port()
        airflow = str(Path(sys.executable).with_name("airflow"))
        self.env = self._env()
        self._airflow = airflow
        self.components = {
            name: Component(name, argv, self.home / "component-logs" / f"{name}.log")
            for name, argv in self.component_argv().items()
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def component_argv(self) -> dict[str, list[str]]:
        """``{component name: argv}``, started in this order (a deployment of another shape overrides it)."""
        return {name: [self._airflow, *self._args(name)] for name in COMPONENTS}

    @staticmethod
    def _args(name: str) -> list[str]:
        if name in ("scheduler", "triggerer"):
            return [name, "--skip-serve-logs"]
        return [name]

    def _env(self) -> dict[str, str]:
        # Nothing of the test process's own Airflow set-up (tests/conftest.py's AIRFLOW_HOME, unit test mode).
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_dir),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home}/airflow.db",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{self.port}",
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                "GCP_OPERATIONS_EMULATOR_HOST": self.emulator_host,
                "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        return env

    # -- lifecycle ----------------------------------------------------------------------------------------------
    def migrate(self) -> None:
        started = time.monotonic()
        log = self.home / "component-logs" / "db-migrate.log"
        with log.open("wb") as out:
            try:
                result = subprocess.run(
                    [self._airflow, "db", "migrate"],
                    env=self.env,
                    cwd=self.home,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=MIGRATE_TIMEOUT_S,
                    start_new_session=True,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise HarnessError(f"airflow db migrate took over {MIGRATE_TIMEOUT_S:g} s") from exc
        if result.returncode != 0:
            raise HarnessError(f"airflow db migrate failed ({result.returncode}):\n{log.read_text()[-6000:]}")
        self.timings["migrate_s"] = time.monotonic() - started

    def start(self) -> None:
        started = time.monotonic()
        self.migrate()
        for component in self.components.values():
            component.start(self.env, self.home)
        try:
            self.wait_healthy()
        except HarnessError as exc:
            raise HarnessError(f"{exc}\n{self.component_logs(6000)}") from None
        self.timings["start_s"] = time.monotonic() - started

    def health(self) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/api/v2/monitor/health", timeout=5, trust_env=False)
        if response.status_code != 200:
            return {"http_status": response.status_code}
        body: dict[str, Any] = response.json()
        return body

    def _healthy(self, *names: str) -> bool:
        self._check_alive()
        body = self.health()
        return all(body.get(name, {}).get("status") == "healthy" for name in names)

    def wait_healthy(self, *names: str, timeout: float = HEALTH_TIMEOUT_S) -> None:
        names = names or ("metadatabase", "scheduler", "triggerer", "dag_processor")
        wait_for(f"{', '.join(names)} healthy", lambda: self._healthy(*names), timeout=timeout)

    def _check_alive(self) -> None:
        for component in self.components.values():
            if component.proc is not None and component.proc.poll() is not None:
                raise HarnessError(f"{component.name} exited with {component.proc.returncode}:\n{component.tail(6000)}")

    def restart(self, name: str, timeout: float = HEALTH_TIMEOUT_S) -> dict[str, float]:
        """SIGTERM ``name``'s process group (then SIGKILL what is left), start a new one, wait for its heartbeat.

        Returns ``stop_s`` (SIGTERM to gone) and ``healthy_s`` (start to the new process's first heartbeat).
        """
        component = self.components[name]
        stop_s = component.stop()
        restarted = datetime.now(timezone.utc)
        started = time.monotonic()
        component.start(self.env, self.home)
        key = name.replace("-", "_")

        def new_heartbeat() -> bool:
            self._check_alive()
            beat = self.health().get(key, {}).get(f"latest_{key}_heartbeat")
            return bool(beat) and datetime.fromisoformat(str(beat).replace("Z", "+00:00")) > restarted

        wait_for(f"a heartbeat of the new {name}", new_heartbeat, timeout=timeout)
        return {"stop_s": stop_s, "healthy_s": time.monotonic() - started}

    def stop(self) -> dict[str, float]:
        took: dict[str, float] = {}
        errors: list[BaseException] = []
        for name, component in reversed(list(self.components.items())):
            try:
                took[name] = component.stop()
            except Exception as exc:  # stop the others anyway
                errors.append(exc)
        if errors:
            raise HarnessError(f"stopping the deployment failed: {errors!r}")
        self.timings.update({f"stop_{name}_s": s for name, s in took.items()})
        return took

    def cleanup(self) -> None:
        self.stop()
        if not self.keep_home:
            shutil.rmtree(self.home, ignore_errors=True)

    def leftovers(self) -> list[int]:
        """Processes of ours still alive (should be none after :meth:`stop`)."""
        return [c.pgid for c in self.components.values() if c.proc is not None and _group_alive(c.pgid)]

    # -- logs ---------------------------------------------------------------------------------------------------
    def component_logs(self, max_bytes: int = 12_000) -> str:
        parts = [f"===== {c.name} ({c.log_path}) =====\n{c.tail(max_bytes)}" for c in self.components.values()]
        return "\n".join(parts)

    def task_logs(self, dag_id: str, max_bytes: int = 8_000) -> str:
        root = self.home / "logs" / f"dag_id={dag_id}"
        if not root.exists():
            return f"(no task logs for {dag_id})"
        parts = []
        for path in sorted(root.rglob("*.log")):
            data = path.read_bytes()[-max_bytes:].decode(errors="replace")
            parts.append(f"----- {path.relative_to(root)} -----\n{_readable(data)}")
        return "\n".join(parts)


def _readable(data: str) -> str:
    """Task logs are JSON lines on Airflow 3: show ``timestamp level event`` per line."""
    out = []
    for line in data.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            out.append(line)
            continue
        if not isinstance(record, dict):
            out.append(line)
            continue
        out.append(f"{record.get('timestamp', '')} {record.get('level', '')} {record.get('event', '')}")
    return "\n".join(out)


# -- REST API ---------------------------------------------------------------------------------------------------


DB_ERROR_ATTEMPTS = 3


class Api:
    """The few REST calls the cases need, with a token from the simple auth manager."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self._client = httpx.Client(base_url=deployment.url, timeout=30, trust_env=False)
        self._token: str | None = None

    def close(self) -> None:
        self._client.close()

    def token(self) -> str:
        if self._token is None:
            passwords = self.deployment.home / "simple_auth_manager_passwords.json.generated"
            wait_for("the admin password file", passwords.exists, timeout=60)
            password = json.loads(passwords.read_text())["admin"]
            response = self._client.post("/auth/token", json={"username": "admin", "password": password})
            response.raise_for_status()
            self._token = str(response.json()["access_token"])
        return self._token

    def call(self, method: str, path: str, **kw: Any) -> Any:
        for attempt in range(DB_ERROR_ATTEMPTS):
            response = self._client.request(method, path, headers={"Authorization": f"Bearer {self.token()}"}, **kw)
            # SQLite (the basic deployment) lets one writer in at a time: a request meeting a busy database is
            # rolled back and answered 500 "Database error" (seen on 3.1.8 under CI load). Asked again, not failed.
            if response.status_code != 500 or "Database error" not in response.text:
                break
            if attempt + 1 < DB_ERROR_ATTEMPTS:
                time.sleep(1.0)
        if response.status_code >= 400:
            raise HarnessError(f"{method} {path} answered {response.status_code}: {response.text[:2000]}")
        return response.json() if response.content else None

    # -- DAGs and runs
    def dag_ids(self) -> set[str]:
        body = self.call("GET", "/api/v2/dags", params={"limit": 100})
        return {d["dag_id"] for d in body["dags"]}

    def wait_for_dags(self, dag_ids: set[str], timeout: float = 120) -> None:
        wait_for(f"DAGs {sorted(dag_ids)} parsed", lambda: dag_ids <= self.dag_ids(), timeout=timeout, interval=1)

    def trigger(self, dag_id: str) -> str:
        body = self.call("POST", f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None})
        return str(body["dag_run_id"])

    @staticmethod
    def _ti_path(dag_id: str, run_id: str, task_id: str, map_index: int | None) -> str:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
        return path if map_index is None else f"{path}/{map_index}"

    def task_instance(self, dag_id: str, run_id: str, task_id: str, map_index: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = self.call("GET", self._ti_path(dag_id, run_id, task_id, map_index))
        return body

    def state(self, dag_id: str, run_id: str, task_id: str, map_index: int | None = None) -> str | None:
        state = self.task_instance(dag_id, run_id, task_id, map_index).get("state")
        return None if state is None else str(state)

    def wait_state(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        states: set[str],
        *,
        timeout: float,
        try_number: int | None = None,
        map_index: int | None = None,
    ) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            ti = self.task_instance(dag_id, run_id, task_id, map_index)
            if ti.get("state") in states and (try_number is None or ti.get("try_number") == try_number):
                return ti
            return None

        result: dict[str, Any] = wait_for(
            f"{dag_id}.{task_id}"
            + ("" if map_index is None else f"[{map_index}]")
            + f" in {sorted(states)}"
            + ("" if try_number is None else f" (try {try_number})"),
            probe,
            timeout=timeout,
            interval=0.5,
            on_timeout=f"(state now: {self.state(dag_id, run_id, task_id, map_index)})",
        )
        return result

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str, map_index: int | None = None) -> Any:
        params = {} if map_index is None else {"map_index": map_index}
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        body = self.call("GET", path, params=params)
        return body["value"]

    # -- user actions
    def mark(self, dag_id: str, run_id: str, task_id: str, new_state: str, map_index: int | None = None) -> None:
        self.call("PATCH", self._ti_path(dag_id, run_id, task_id, map_index), json={"new_state": new_state})

    def clear(self, dag_id: str, run_id: str, task_id: str, map_index: int | None = None) -> None:
        task: Any = task_id if map_index is None else [task_id, map_index]
        self.call(
            "POST",
            f"/api/v2/dags/{dag_id}/clearTaskInstances",
            json={"dry_run": False, "dag_run_id": run_id, "task_ids": [task], "only_failed": False},
        )

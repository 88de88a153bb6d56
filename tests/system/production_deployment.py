"""The production-shaped deployment: PostgreSQL + CeleryExecutor on Redis, two Celery workers, two triggerers.

Composes :class:`~tests.system.harness.Deployment` (same teardown, same REST API, same health wait) and adds:

- a throw-away PostgreSQL cluster (Debian's ``postgresql`` package: ``initdb`` + ``postgres`` from
  ``/usr/lib/postgresql/*/bin``, run as the ``postgres`` user when the tests run as root, since PostgreSQL refuses
  root) in its own temporary directory, listening on 127.0.0.1 only, ``trust`` auth for loopback;
- a throw-away ``redis-server`` (Debian's package) on 127.0.0.1, no persistence;
- ``airflow celery worker`` x 2 (``--concurrency 2``) and ``airflow triggerer`` x 2 beside api-server, scheduler and
  dag-processor.

``scripts/system_services.sh`` installs the two Debian packages; nothing here installs anything. Every process
is a :class:`~tests.system.harness.Component` (own process group, ``PR_SET_PDEATHSIG``), stopped after Airflow's.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .harness import Api, Component, Deployment, HarnessError, descendants, free_port, wait_for

TRIGGERERS = ("triggerer", "triggerer-2")  # the first keeps the basic deployment's name (its restart case)
WORKERS = ("celery-worker-1", "celery-worker-2")
LOST_QUEUE = "lost"  # served by the second worker only: the worker-loss case's tasks run there
WORKER_CONCURRENCY = 2  # 2 x 2 task slots: the machine has 2 shared cores
SERVICE_TIMEOUT_S = 60.0

# Shortened for the failover and worker-loss cases (Airflow 3.3 defaults: 30, 30, 300, 10 s).
PRODUCTION_TUNING = {
    # A triggerer whose heartbeat is older than this is dead: Trigger.assign_unassigned() hands its triggers to
    # a live triggerer (airflow/models/trigger.py, alive_triggerer_ids).
    "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "15",
    "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "3",
    "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "30",
    # A running task instance without a heartbeat for this long is failed (or retried) by the scheduler.
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
}


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise HarnessError("PostgreSQL is not installed: run scripts/system_services.sh (Debian's postgresql)")
    return Path(found[-1]).parent


def _service_user() -> str | None:
    """PostgreSQL will not run as root: use Debian's ``postgres`` user then; ``None`` = the current user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise HarnessError("running as root needs the 'postgres' user (Debian's postgresql package)") from exc
    return "postgres"


@dataclass
class Postgres:
    """One throw-away cluster on 127.0.0.1: ``start()`` (initdb, postgres, createdb) / ``stop()`` / ``url``."""

    log_dir: Path
    port: int = field(default_factory=free_port)
    database: str = "airflow"
    user: str = "airflow"
    run_as: str | None = field(default_factory=_service_user)
    root: Path = field(init=False)
    component: Component = field(init=False)

    def __post_init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="gcp-ops-pg-"))
        self._bin = postgres_bin()
        argv = [
            str(self._bin / "postgres"),
            "-D", str(self.root / "data"),
            "-h", "127.0.0.1",
            "-p", str(self.port),
            "-k", str(self.root),  # the unix socket lives in the throw-away directory, not /var/run
            "-c", "fsync=off",  # throw-away data: no durability needed
            "-c", "max_connections=200",
        ]  # fmt: skip
        self.component = Component("postgres", argv, self.log_dir / "postgres.log", user=self.run_as)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def _run(self, *argv: str) -> None:
        result = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=SERVICE_TIMEOUT_S, user=self.run_as, check=False
        )
        if result.returncode != 0:
            raise HarnessError(
                f"{argv[0]} failed ({result.returncode}): {result.stdout[-2000:]}{result.stderr[-2000:]}"
            )

    def start(self, env: Mapping[str, str]) -> None:
        if self.run_as is not None:
            shutil.chown(self.root, self.run_as)
        self._run(
            str(self._bin / "initdb"), "-D", str(self.root / "data"), "-U", self.user, "--auth=trust", "-E", "UTF8"
        )
        self.component.start(env, self.root)
        ready = [str(self._bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user]
        wait_for(
            "PostgreSQL accepting connections",
            lambda: self.component.running and subprocess.run(ready, capture_output=True, check=False).returncode == 0,
            timeout=SERVICE_TIMEOUT_S,
            on_timeout=self.component.tail(3000),
        )
        self._run(str(self._bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, self.database)

    def stop(self) -> float:
        took = self.component.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        return took


@dataclass
class Redis:
    log_dir: Path
    port: int = field(default_factory=free_port)
    component: Component = field(init=False)

    def __post_init__(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            raise HarnessError("redis-server is not installed: run scripts/system_services.sh (Debian's redis-server)")
        argv = [server, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"]
        self.component = Component("redis", argv, self.log_dir / "redis.log")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    def start(self, env: Mapping[str, str], cwd: Path) -> None:
        self.component.start(env, cwd)
        wait_for("redis answering PING", self._ping, timeout=SERVICE_TIMEOUT_S, on_timeout=self.component.tail(3000))


@dataclass
class ProductionDeployment(Deployment):
    """PostgreSQL + CeleryExecutor (Redis) + two Celery workers + two triggerers; same API as the basic one."""

    parallelism: int = 8
    postgres: Postgres = field(init=False)
    redis: Redis = field(init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        logs = self.home / "component-logs"
        self.postgres = Postgres(logs)
        self.redis = Redis(logs)
        self.env.update(self._production_env())

    def component_argv(self) -> dict[str, list[str]]:
        airflow = self._airflow
        argv = {name: [airflow, *self._args(name)] for name in ("api-server", "scheduler", "dag-processor")}
        argv.update({name: [airflow, "triggerer", "--skip-serve-logs"] for name in TRIGGERERS})
        for i, name in enumerate(WORKERS, 1):
            argv[name] = [
                airflow, "celery", "worker",
                "--concurrency", str(WORKER_CONCURRENCY),
                "--celery-hostname", f"worker{i}@%h",
                "--queues", "default" if i == 1 else f"default,{LOST_QUEUE}",
                "--skip-serve-logs", "--without-mingle", "--without-gossip",
            ]  # fmt: skip
        return argv

    def _production_env(self) -> dict[str, str]:
        env = {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.postgres.url,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_SIZE": "3",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_MAX_OVERFLOW": "5",
            "AIRFLOW__CELERY__BROKER_URL": self.redis.url,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.postgres.url,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
            "AIRFLOW__CELERY__SYNC_PARALLELISM": "1",
            **PRODUCTION_TUNING,
        }
        env.update(self.extra_env)
        return env

    # -- lifecycle ----------------------------------------------------------------------------------------------
    def start(self) -> None:
        started = time.monotonic()
        try:
            self.postgres.start(self.env)
            self.redis.start(self.env, self.home)
        except HarnessError:
            self.stop()
            raise
        self.timings["services_s"] = time.monotonic() - started
        super().start()
        self.wait_triggerers(len(TRIGGERERS))
        self.timings["start_s"] = time.monotonic() - started

    def stop(self) -> dict[str, float]:
        try:
            took = super().stop()
        finally:
            self.timings["stop_redis_s"] = self.redis.component.stop()
            self.timings["stop_postgres_s"] = self.postgres.stop()
        return took

    def leftovers(self) -> list[int]:
        services = [self.postgres.component, self.redis.component]
        return super().leftovers() + [c.pgid for c in services if c.proc is not None]

    def component_logs(self, max_bytes: int = 12_000) -> str:
        services = [self.postgres.component, self.redis.component]
        extra = "\n".join(f"===== {c.name} ({c.log_path}) =====\n{c.tail(4000)}" for c in services)
        return f"{super().component_logs(max_bytes)}\n{extra}"

    # -- the production cases' tools ----------------------------------------------------------------------------
    def alive_triggerer_jobs(self) -> int:
        """How many triggerer jobs Airflow counts alive (REST ``/api/v2/jobs``)."""
        api = Api(self)
        try:
            body = api.call("GET", "/api/v2/jobs", params={"job_type": "TriggererJob", "is_alive": True, "limit": 50})
        finally:
            api.close()
        return int(body["total_entries"])

    def wait_triggerers(self, count: int, timeout: float = 120) -> None:
        def enough() -> bool:
            self._check_alive()
            return self.alive_triggerer_jobs() >= count

        wait_for(f"{count} triggerers alive", enough, timeout=timeout, interval=1)

    def kill(self, name: str) -> float:
        """SIGKILL ``name`` and every process it started, at once (a lost node: no handler runs); returns when."""
        component = self.components[name]
        proc = component.proc
        if proc is None:
            raise HarnessError(f"{name} is not running")
        tree = descendants(proc.pid)
        killed_at = time.monotonic()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(component.pgid, signal.SIGKILL)
        for pid in tree:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        component.proc = None
        return killed_at

    def pids_of(self, name: str) -> set[int]:
        """``name``'s processes (the component and everything it started)."""
        component = self.components[name]
        if component.proc is None:
            return set()
        return {component.proc.pid, *descendants(component.proc.pid)}

    def start_component(self, name: str) -> None:
        self.components[name].start(self.env, self.home)

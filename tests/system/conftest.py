"""Fixtures of the system suite: the emulator, one Airflow deployment per session, its REST API.

Selected with ``-m system`` (the default run leaves it out: see ``addopts`` in pyproject). A failed test gets
the components' logs (and its DAG's task logs) appended to its report.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer
from airflow_provider_gcp_ops.emulator.oauth import service_account_key

from .harness import Api, Deployment, sigterm_as_exit

# As dags/gcp_ops_kill_paths.py names them (not imported: Airflow never loads in this process).
TOKEN_CONN = "gcp_ops_sys_token"
FEW_RETRIES_CONN = "gcp_ops_sys_few_retries"
TOKEN_KEY = "sys-token-outage"  # the key's name: fault rules single its token requests out with match="key=..."

_DEPLOYMENT_KEY = pytest.StashKey["Deployment"]()
DEPLOYMENT_OPTION = "--system-deployment"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        DEPLOYMENT_OPTION,
        choices=("basic", "production"),
        default=os.environ.get("GCP_OPS_SYSTEM_DEPLOYMENT", "basic"),
        help="basic: SQLite + LocalExecutor; production: PostgreSQL + CeleryExecutor (Redis), 2 workers, 2 triggerers",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.system)


@pytest.fixture(scope="session")
def system_emulator() -> Iterator[EmulatorServer]:
    """The emulator every component talks to (``GCP_OPERATIONS_EMULATOR_HOST``), in this process, real time."""
    with EmulatorServer("127.0.0.1", 0, auth=True) as emu:
        yield emu


def connections(emu: EmulatorServer) -> dict[str, str]:
    """The connections the case DAGs name (``dags/gcp_ops_kill_paths.py``), as ``AIRFLOW_CONN_*`` variables."""
    # A fresh key whose tokens come from the emulator's token endpoint and last 230 s: google-auth refreshes 3 min
    # 45 s before expiry, so every few seconds (the token_outage case makes that endpoint fail meanwhile).
    key = service_account_key(emu.url, name=TOKEN_KEY, expires_in=230)
    conns = {
        TOKEN_CONN: {"conn_type": "google_cloud_platform", "extra": {"keyfile_dict": key}},
        FEW_RETRIES_CONN: {"conn_type": "google_cloud_platform", "extra": {"num_retries": 1}},
    }
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(conn) for conn_id, conn in conns.items()}


@pytest.fixture(scope="session")
def deployment(request: pytest.FixtureRequest, system_emulator: EmulatorServer) -> Iterator[Deployment]:
    kind: type[Deployment] = Deployment
    if request.config.getoption(DEPLOYMENT_OPTION) == "production":
        from .production_deployment import ProductionDeployment

        kind = ProductionDeployment
    dep = kind(
        emulator_host=system_emulator.host,
        keep_home=bool(os.environ.get("GCP_OPS_SYSTEM_KEEP")),
        extra_env={
            **connections(system_emulator),
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",  # the connection form's Test button (test_ui_links)
        },
        # Seven tasks wait on workers at the same time (the worker-timeout and worker-outage cases); with fewer
        # slots the deferred cases' resumed tasks queue behind them and their timings stretch.
        parallelism=8,
    )
    request.config.stash[_DEPLOYMENT_KEY] = dep
    with sigterm_as_exit():
        try:
            dep.start()
            yield dep
        finally:
            if request.session.testsfailed:
                dep.keep_home = True  # the logs of a failed run stay, the processes do not
            dep.cleanup()
            leftovers = dep.leftovers()
            kept = f"; AIRFLOW_HOME kept: {dep.home}" if dep.keep_home else ""
            print(f"\nsystem deployment timings: {dep.timings}; leftovers: {leftovers}{kept}")


@pytest.fixture(scope="session")
def api(deployment: Deployment) -> Iterator[Api]:
    client = Api(deployment)
    try:
        yield client
    finally:
        client.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "teardown" or not report.failed:
        return
    dep = item.config.stash.get(_DEPLOYMENT_KEY, None)
    if dep is None:
        return
    report.sections.append(("component logs", dep.component_logs()))
    for dag_id in getattr(item.function, "dag_ids", ()):  # set by the cases
        report.sections.append((f"task logs {dag_id}", dep.task_logs(dag_id)))
    report.sections.append(("failed at", time.strftime("%H:%M:%S")))

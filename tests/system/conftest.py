"""Fixtures of the system suite: the emulator, one Airflow deployment per session, its REST API.

Selected with ``-m system`` (the default run leaves it out: see ``addopts`` in pyproject). A failed test gets
the components' logs (and its DAG's task logs) appended to its report.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer

from .harness import Api, Deployment, sigterm_as_exit

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


@pytest.fixture(scope="session")
def deployment(request: pytest.FixtureRequest, system_emulator: EmulatorServer) -> Iterator[Deployment]:
    kind: type[Deployment] = Deployment
    if request.config.getoption(DEPLOYMENT_OPTION) == "production":
        from .production_deployment import ProductionDeployment

        kind = ProductionDeployment
    dep = kind(emulator_host=system_emulator.host, keep_home=bool(os.environ.get("GCP_OPS_SYSTEM_KEEP")))
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

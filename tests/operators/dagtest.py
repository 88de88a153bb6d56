"""Run small DAGs with ``dag.test()`` against the emulator: the real task runner, deferral, triggers and timeouts.

Facts this relies on (checked on Airflow 3.3.2):

- ``dag.test()`` needs a migrated metadata DB. ``airflow.utils.db.initdb()`` in-process takes about 1 s here;
  a subprocess ``airflow db migrate`` about 3 s (a fresh interpreter imports Airflow again). So: in-process,
  once per session, in the isolated ``AIRFLOW_HOME`` that ``tests/conftest.py`` sets before Airflow loads.
- ``dag.test()`` only runs DAGs that are serialized in the DB: it syncs the ``dags-folder`` bundle, which does
  not contain a DAG built inside a test. :func:`run_dag` writes the DAG to the DB first (as the DAG processor
  would), then calls ``dag.test()``.
- ``dag.test()`` does not raise when a task fails: it returns the ``DagRun`` (state ``failed``); read the task
  instance states from it. The first call in a process takes about 4 s (it builds the in-process execution API),
  later calls a fraction of a second plus the tasks' own time.
- Tasks run in this process: ``execution_timeout`` is SIGALRM on the main thread and SIGTERM reaches the task
  runner's handler, so both kill paths are the real ones.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from airflow.dag_processing.bundles.manager import DagBundlesManager

try:
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
except ImportError:  # Airflow 3.1: still in airflow.models
    from airflow.models.dagbag import DagBag, sync_bag_to_db  # type: ignore[no-redef]
from airflow.models.xcom import XComModel
from airflow.utils import db
from airflow.utils.session import create_session

from airflow_provider_gcp_ops.triggers.operation import OperationTrigger


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """A migrated metadata DB in the session's isolated AIRFLOW_HOME (created once)."""
    home = os.environ["AIRFLOW_HOME"]
    assert "gcp-ops-airflow-home-" in home, f"refusing to migrate a DB outside the test AIRFLOW_HOME: {home}"
    db.initdb()


def run_dag(dag: Any) -> Any:
    """Serialize ``dag`` into the DB (like the DAG processor) and run it with ``dag.test()``; return the DagRun."""
    with create_session() as session:
        DagBundlesManager().sync_bundles_to_db(session=session)
    bag = DagBag(dag_folder=os.devnull)
    bag.bag_dag(dag)
    sync_bag_to_db(bag, "dags-folder", None)
    return dag.test()


def ti_state(dagrun: Any, task_id: str) -> str | None:
    ti = dagrun.get_task_instance(task_id)
    return None if ti is None or ti.state is None else str(getattr(ti.state, "value", ti.state))


def xcom(dagrun: Any, task_id: str, key: str = "return_value") -> Any:
    """The value a task pushed in this run (``None`` when it pushed nothing)."""
    with create_session() as session:
        row = session.scalars(
            XComModel.get_many(run_id=dagrun.run_id, key=key, task_ids=task_id, dag_ids=dagrun.dag_id)
        ).first()
        return None if row is None else XComModel.deserialize_value(row)


def counts(emu: Any, name: str) -> dict[str, int]:
    """Requests the emulator received for operation ``name``, per route (get, cancel, wait...)."""
    stats: dict[str, Any] = emu.admin.stats()
    return {k: int(v) for k, v in stats["operations"].get(name, {}).items()}


def cancels(emu: Any, name: str) -> int:
    return counts(emu, name).get("cancel", 0)


def total_cancels(emu: Any) -> int:
    return int(emu.admin.stats()["requests"].get("cancel", 0))


@pytest.fixture
def trigger_events(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every event an ``OperationTrigger`` yields in this test (proves a task really deferred)."""
    seen: list[dict[str, Any]] = []
    original = OperationTrigger.run

    async def run(self: OperationTrigger) -> Any:
        async for event in original(self):
            seen.append(event.payload)
            yield event

    monkeypatch.setattr(OperationTrigger, "run", run)
    return seen

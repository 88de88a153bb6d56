"""The operators' shared base: every parameter it takes still honours ``default_args``, the per-task state is set
by the base itself, and a task with its hook built still deep-copies (Airflow copies tasks: mapping, ``dag.test``)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from airflow.sdk import DAG

from airflow_provider_gcp_ops.operators.cancel import CancelOperationOperator
from airflow_provider_gcp_ops.operators.delete import DeleteOperationOperator
from airflow_provider_gcp_ops.operators.housekeeping import OperationsHousekeepingOperator
from airflow_provider_gcp_ops.operators.inspect import GetOperationOperator, ListOperationsOperator
from airflow_provider_gcp_ops.operators.start import StartOperationOperator
from airflow_provider_gcp_ops.sensors.operation import OperationSensor

NAME = "projects/p/regions/us-central1/operations/o"
TASKS: list[tuple[type[Any], dict[str, Any], bool]] = [
    (StartOperationOperator, {"path": "v1/projects/p/regions/us-central1/clusters", "service": "dataproc"}, True),
    (CancelOperationOperator, {"operation_name": NAME}, True),
    (OperationSensor, {"operation_name": NAME}, True),
    (GetOperationOperator, {"operation_name": NAME}, False),
    (DeleteOperationOperator, {"operation_name": NAME}, False),
    (ListOperationsOperator, {"parent": "projects/p/regions/us-central1"}, False),
    (OperationsHousekeepingOperator, {"service": "dataproc", "parents": ["x"], "delete_done_older_than": 1}, False),
]


@pytest.mark.parametrize(("cls", "kwargs", "owns"), TASKS, ids=[t[0].__name__ for t in TASKS])
def test_the_base_sets_the_shared_parameters_and_the_state(cls: type[Any], kwargs: dict[str, Any], owns: bool) -> None:
    defaults = {"gcp_conn_id": "from_default_args", "impersonation_chain": "sa@p.iam.gserviceaccount.com"}
    with DAG(f"base_{cls.__name__}", schedule=None, default_args=defaults):
        task = cls(task_id="t", **kwargs)
    assert (task.gcp_conn_id, task.impersonation_chain) == ("from_default_args", "sa@p.iam.gserviceaccount.com")
    assert task.cancel_on_kill is owns  # only the tasks that own an operation cancel it
    assert (task._ref, task._target, task._cancel_sent) == (None, None, False)
    assert task.hook.gcp_conn_id == "from_default_args" and task.hook is task.hook  # one hook, built once


def test_a_task_with_its_hook_built_deep_copies_and_shares_its_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GCP_OPERATIONS_EMULATOR_HOST", "127.0.0.1:9")  # a client with a static token, no request
    task = CancelOperationOperator(task_id="c", operation_name=NAME, poll_interval=2.0, cancel_on_kill=False)
    client = task.hook.get_conn()
    assert client.poll.initial == 2.0  # the task's poll schedule is its hook's
    clone = copy.deepcopy(task)  # Airflow's shallow_copy_attrs: the hook is copied shallowly, its client shared
    assert clone.hook.get_conn() is client and clone.cancel_on_kill is False and clone.poll_interval == 2.0
    fresh = copy.deepcopy(CancelOperationOperator(task_id="d", operation_name=NAME))
    assert "hook" not in vars(fresh)  # nothing built before first use

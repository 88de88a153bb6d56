"""The "Operation logs" and "Target resource" extra links: pure URL building, then the real task runner storing
them (``dag.test()`` against the emulator, the link XComs Airflow's UI reads)."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import unquote

import pytest
from airflow.sdk import DAG

from airflow_provider_gcp_ops.links.console import OperationLogsLink, TargetResourceLink
from airflow_provider_gcp_ops.operations import client_base
from airflow_provider_gcp_ops.operations.retry import DEFAULT_RETRY
from airflow_provider_gcp_ops.operations.targets import logs_url, target_url
from airflow_provider_gcp_ops.operators.cancel import CancelOperationOperator
from airflow_provider_gcp_ops.operators.inspect import GetOperationOperator
from airflow_provider_gcp_ops.operators.start import StartOperationOperator
from airflow_provider_gcp_ops.sensors.operation import OperationSensor

from .dagtest import run_dag, ti_state, xcom

C = "https://console.cloud.google.com"


def test_logs_url_filters_on_the_operation_id_in_its_project() -> None:
    url = logs_url("projects/my-proj/regions/us-central1/operations/abc-123")
    assert url == f"{C}/logs/query;query=operation.id%3A%22abc-123%22?project=my-proj"
    assert unquote(url.split(";query=")[1].split("?")[0]) == 'operation.id:"abc-123"'
    assert logs_url("operations/xyz") is None  # Dialogflow ES project-less name: no project, no link
    assert logs_url("operations/xyz", project="p") == f"{C}/logs/query;query=operation.id%3A%22xyz%22?project=p"


def test_a_quote_in_a_name_cannot_break_out_of_the_query_or_the_console() -> None:
    url = logs_url('projects/p/locations/l/operations/a"OR"1')
    assert url is not None and url.startswith(f"{C}/logs/query;query=") and '"' not in url
    assert target_url("projects/p/regions/r/operations/o", "dataproc", {"clusterName": "c/../../evil"}) is None


@pytest.mark.parametrize(
    ("name", "service", "metadata", "expected"),
    [
        (
            "projects/p/regions/us-central1/operations/o",
            "dataproc",
            {"clusterName": "etl-cluster", "clusterUuid": "u"},
            "/dataproc/clusters/etl-cluster/monitoring?region=us-central1&project=p",
        ),
        (
            "projects/p/regions/us-central1/operations/o",
            "dataproc",
            {"batch": "projects/p/locations/us-central1/batches/b-1", "batchUuid": "u"},
            "/dataproc/batches/us-central1/b-1/monitoring?project=p",
        ),
        (
            "projects/p/locations/europe-west4/trainingPipelines/123/operations/456",
            "aiplatform",
            {"genericMetadata": {}},
            "/vertex-ai/locations/europe-west4/training/123/cpu?project=p",
        ),
        (
            "projects/p/instances/inst/databases/db/operations/o",
            "spanner",
            None,
            "/spanner/instances/inst/databases/db/details/tables?project=p",
        ),
        (
            "projects/p/instances/inst/operations/o",
            "spanner",
            {"instance": {"name": "projects/p/instances/inst"}},
            "/spanner/instances/inst/details/databases?project=p",
        ),
        (
            "projects/p/locations/us-east1/operations/o",
            "datafusion",
            {"target": "projects/p/locations/us-east1/instances/df"},
            "/data-fusion/locations/us-east1/instances/df?project=p",
        ),
        (
            "projects/p/locations/us-east1/operations/o",
            "alloydb",
            {"target": "projects/p/locations/us-east1/clusters/c/instances/primary"},
            "/alloydb/locations/us-east1/clusters/c?project=p",
        ),
    ],
)
def test_target_resource_where_the_console_has_a_page(
    name: str, service: str, metadata: dict[str, Any] | None, expected: str
) -> None:
    assert target_url(name, service, metadata) == C + expected


@pytest.mark.parametrize(
    ("name", "service", "metadata"),
    [
        ("projects/p/locations/l/operations/o", "composer", {"resource": "projects/p/locations/l/environments/e"}),
        ("projects/p/locations/global/operations/o", "dialogflow", {"@type": "x"}),
        ("projects/p/locations/us/operations/o", "datalineage", {"resource": "projects/p/locations/us/processes/x"}),
        ("projects/p/regions/r/operations/o", "dataproc", None),  # metadata unknown: no guess
        # the target of one service never matches another service's page
        ("projects/p/locations/l/operations/o", "datafusion", {"target": "projects/p/locations/l/clusters/c"}),
    ],
)
def test_no_link_where_no_honest_one_exists(name: str, service: str, metadata: dict[str, Any] | None) -> None:
    assert target_url(name, service, metadata) is None


def test_every_operation_task_carries_both_links() -> None:
    for cls in (CancelOperationOperator, StartOperationOperator, GetOperationOperator, OperationSensor):
        kinds = {type(link) for link in cls.operator_extra_links}
        assert {OperationLogsLink, TargetResourceLink} <= kinds, cls


@pytest.mark.usefixtures("airflow_db")
def test_the_task_runner_stores_both_links_of_a_dataproc_operation(gcp_ops_emulator_env: Any) -> None:
    emu = gcp_ops_emulator_env
    op = emu.admin.create_operation(service="dataproc", project="link-proj", location="europe-west1", done=True)
    with DAG("links_dataproc", schedule=None) as dag:
        GetOperationOperator(task_id="get", operation_name=op["name"], service="dataproc", include_metadata=True)
    dr = run_dag(dag)
    assert ti_state(dr, "get") == "success"
    cluster = xcom(dr, "get")["metadata"]["clusterName"]
    op_id = op["name"].rsplit("/", 1)[1]
    logs = xcom(dr, "get", key="_link_OperationLogsLink")
    target = xcom(dr, "get", key="_link_TargetResourceLink")
    assert logs == f"{C}/logs/query;query=operation.id%3A%22{op_id}%22?project=link-proj"
    assert target == f"{C}/dataproc/clusters/{cluster}/monitoring?region=europe-west1&project=link-proj"


class _RecordsTheNameOnly(GetOperationOperator):
    """A task that knows its operation but never saw it (as one killed before its first read)."""

    def execute(self, context: Any) -> None:
        self.remember(context, self.resolve(self.operation_name, service=self.service, api_version=None))


@pytest.mark.usefixtures("airflow_db")
@pytest.mark.parametrize("seen", [True, False], ids=["metadata-seen", "name-only"])
def test_the_target_link_reads_the_operation_only_when_the_task_recorded_no_target(
    gcp_ops_emulator_env: Any, seen: bool
) -> None:
    emu = gcp_ops_emulator_env
    op = emu.admin.create_operation(service="dataproc", project="link-proj", location="europe-west1", done=True)
    with DAG(f"links_dataproc_{seen}", schedule=None) as dag:
        (GetOperationOperator if seen else _RecordsTheNameOnly)(
            task_id="get", operation_name=op["name"], service="dataproc"
        )
    dr = run_dag(dag)
    assert ti_state(dr, "get") == "success"
    recorded = xcom(dr, "get", key="gcp_operation")
    cluster = f"projects/link-proj/regions/europe-west1/clusters/{op['metadata']['clusterName']}"
    assert recorded.get("target") == (cluster if seen else None)
    # metadata seen: the task's own GET only; name only: no GET by the task, one by the link (the fallback)
    assert emu.admin.stats()["requests"].get("get", 0) == 1
    link = xcom(dr, "get", key="_link_TargetResourceLink")
    assert (
        link
        == f"{C}/dataproc/clusters/{op['metadata']['clusterName']}/monitoring?region=europe-west1&project=link-proj"
    )


@pytest.mark.usefixtures("airflow_db")
def test_a_failed_metadata_read_leaves_no_target_link_and_the_task_as_it_was(
    gcp_ops_emulator_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = dataclasses.replace(DEFAULT_RETRY, max_attempts=2, initial_backoff=0.01, max_backoff=0.05, deadline=5)
    monkeypatch.setattr(client_base, "DEFAULT_RETRY", fast)  # the task's own GET gives up quickly
    emu = gcp_ops_emulator_env
    op = emu.admin.create_operation(service="dataproc", project="link-proj", location="europe-west1", done=True)
    with DAG("links_dataproc_gone", schedule=None) as dag:
        GetOperationOperator(task_id="get", operation_name=op["name"], service="dataproc")
    emu.admin.set_faults([{"route": "get", "kind": "500", "probability": 1.0, "match": op["name"]}])
    dr = run_dag(dag)
    assert ti_state(dr, "get") == "failed"  # its own GET failed too
    assert xcom(dr, "get", key="_link_TargetResourceLink") == ""
    assert xcom(dr, "get", key="_link_OperationLogsLink").startswith(f"{C}/logs/query;")


def test_only_metadata_named_targets_cost_a_request() -> None:
    from airflow_provider_gcp_ops.operations.targets import needs_metadata

    assert needs_metadata("projects/p/regions/r/operations/o", "dataproc")
    assert needs_metadata("projects/p/locations/l/operations/o", "datafusion")
    assert not needs_metadata("projects/p/instances/i/databases/d/operations/o", "spanner")  # the name says it
    assert not needs_metadata("projects/p/locations/l/operations/o", "aiplatform")  # names only
    assert not needs_metadata("projects/p/locations/l/operations/o", "composer")  # no page at all
    assert not needs_metadata("operations/o", "dialogflow")

"""The console extra link: only for services whose console has a page for an operation; registered in provider info."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from airflow.sdk.execution_time import xcom

from airflow_provider_gcp_ops import get_provider_info
from airflow_provider_gcp_ops.links import console
from airflow_provider_gcp_ops.links.console import OperationConsoleLink, console_url
from airflow_provider_gcp_ops.operations.services import (
    ServiceSpec,
    register_service,
    services,
    unregister_service,
)
from airflow_provider_gcp_ops.operators.cancel import CancelOperationOperator
from airflow_provider_gcp_ops.operators.start import StartOperationOperator
from airflow_provider_gcp_ops.sensors.operation import OperationSensor

NAME = "projects/my-proj/locations/eu-west1/operations/op-1"


@pytest.fixture
def with_console_row() -> Iterator[str]:
    register_service(
        ServiceSpec(
            key="consoletest",
            title="Console Test",
            host="consoletest.googleapis.com",
            versions=("v1",),
            name_patterns=("projects/*/locations/*/operations/*",),
            console_url="https://console.cloud.google.com/ct/{location}/operations/{operation_id}?project={project}",
        )
    )
    yield "consoletest"
    unregister_service("consoletest")


def test_no_built_in_service_claims_a_console_page_for_an_operation() -> None:
    assert [s.key for s in services() if s.console_url] == []
    assert console_url("projects/p/regions/r/operations/o", "dataproc") == ""


def test_a_row_with_a_template_gets_a_quoted_link(with_console_row: str) -> None:
    link = console_url(NAME, with_console_row)
    assert link == "https://console.cloud.google.com/ct/eu-west1/operations/op-1?project=my-proj"


def test_a_template_that_leaves_the_console_gives_no_link() -> None:
    register_service(
        ServiceSpec(
            key="consoleevil",
            title="Evil",
            host="consoleevil.googleapis.com",
            versions=("v1",),
            name_patterns=("projects/*/locations/*/operations/*",),
            console_url="https://evil.example.com/{name}",
        )
    )
    try:
        assert console_url(NAME, "consoleevil") == ""
    finally:
        unregister_service("consoleevil")


def test_unknown_service_or_invalid_name_gives_no_link() -> None:
    assert console_url(NAME, "nope") == ""
    assert console_url("projects/../x", "dataproc") == ""


def test_get_link_reads_the_persisted_operation(monkeypatch: pytest.MonkeyPatch, with_console_row: str) -> None:
    stored: dict[str, Any] = {"gcp_operation": {"name": NAME, "service": with_console_row, "api_version": "v1"}}
    monkeypatch.setattr(xcom.XCom, "get_value", staticmethod(lambda *, ti_key, key: stored.get(key)))
    link = OperationConsoleLink()
    assert link.get_link(None, ti_key=object()).startswith("https://console.cloud.google.com/ct/eu-west1/")  # type: ignore[arg-type]
    stored["gcp_operation"] = "garbage"
    assert link.get_link(None, ti_key=object()) == ""  # type: ignore[arg-type]


def test_every_operator_and_the_sensor_carry_the_link() -> None:
    for cls in (CancelOperationOperator, StartOperationOperator, OperationSensor):
        assert any(isinstance(link, OperationConsoleLink) for link in cls.operator_extra_links)


def test_provider_info_registers_the_link_class() -> None:
    [path] = get_provider_info()["extra-links"]
    module, _, name = path.rpartition(".")
    assert getattr(importlib.import_module(module), name) is OperationConsoleLink
    assert console.XCOM_KEY == "gcp_operation"

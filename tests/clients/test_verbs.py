"""Every verb × every service row, through both clients, over real HTTP against the emulator."""

from __future__ import annotations

import os

import pytest
from known_services import HAND_KEPT

from airflow_provider_gcp_ops.emulator import EmulatorServer
from airflow_provider_gcp_ops.operations import services
from airflow_provider_gcp_ops.operations.errors import NotFound, Unimplemented, WaitTimeout
from airflow_provider_gcp_ops.operations.model import OperationState
from airflow_provider_gcp_ops.operations.services import Verb

from .flavours import Flavour
from .stats import route_count

ALL = sorted(HAND_KEPT)
WITH_CANCEL = [k for k in ALL if services.get_service(k).supports(Verb.CANCEL)]
WITHOUT_CANCEL = [k for k in ALL if not services.get_service(k).supports(Verb.CANCEL)]
WITH_DELETE = [k for k in ALL if services.get_service(k).supports(Verb.DELETE)]
WITHOUT_DELETE = [k for k in ALL if not services.get_service(k).supports(Verb.DELETE)]


def test_the_table_has_rows_on_both_sides_of_each_missing_verb() -> None:
    assert WITHOUT_CANCEL == ["composer", "run"]
    assert WITHOUT_DELETE == ["dialogflow"]


@pytest.mark.parametrize("service", ALL)
def test_get_running_and_done(flavour: Flavour, emu: EmulatorServer, service: str) -> None:
    running = emu.admin.create_operation(service=service, duration_s=600)
    done = emu.admin.create_operation(service=service, duration_s=0)

    op = flavour.call("get", running["name"], service=service)
    assert op.name == running["name"]
    assert op.state is OperationState.RUNNING
    if service != "dialogflow":  # Dialogflow's KnowledgeOperationMetadata carries no time at all
        assert op.start_time() is not None

    op = flavour.call("get", done["name"], service=service)
    assert op.done and op.state is OperationState.SUCCEEDED
    assert route_count(emu, "get", done["name"]) == 1


@pytest.mark.parametrize("service", ALL)
def test_get_failed_operation_carries_its_error(flavour: Flavour, emu: EmulatorServer, service: str) -> None:
    failed = emu.admin.create_operation(
        service=service, duration_s=0, outcome={"error": {"code": 13, "message": "disk on fire"}}
    )
    op = flavour.call("get", failed["name"], service=service)
    assert op.state is OperationState.FAILED
    assert op.error is not None and op.error.code == 13 and op.error.message == "disk on fire"


@pytest.mark.parametrize("service", WITH_CANCEL)
def test_cancel_then_wait_ends_cancelled(flavour: Flavour, emu: EmulatorServer, service: str) -> None:
    created = emu.admin.create_operation(service=service, duration_s=600, cancel_delay_s=0.1)
    assert flavour.call("cancel", created["name"], service=service) is None
    op = flavour.call("wait", created["name"], service=service, timeout=10)
    assert op.state is OperationState.CANCELLED
    assert op.error is not None and op.error.code == 1
    assert route_count(emu, "cancel", created["name"]) == 1


@pytest.mark.parametrize("service", WITHOUT_CANCEL)
def test_cancel_unimplemented_is_refused_before_any_request(
    flavour: Flavour, emu: EmulatorServer, service: str
) -> None:
    created = emu.admin.create_operation(service=service, duration_s=600)
    with pytest.raises(Unimplemented, match=r"(?i)cancel"):
        flavour.call("cancel", created["name"], service=service)
    assert route_count(emu, "cancel", created["name"]) == 0


@pytest.mark.parametrize("service", WITH_DELETE)
def test_delete_then_get_is_not_found(flavour: Flavour, emu: EmulatorServer, service: str) -> None:
    created = emu.admin.create_operation(service=service, duration_s=0)
    assert flavour.call("delete", created["name"], service=service) is None
    with pytest.raises(NotFound) as info:
        flavour.call("get", created["name"], service=service)
    assert info.value.http_status == 404
    assert route_count(emu, "get", created["name"]) == 1  # NOT_FOUND is never retried


@pytest.mark.parametrize("service", WITHOUT_DELETE)
def test_delete_unimplemented_is_refused_before_any_request(
    flavour: Flavour, emu: EmulatorServer, service: str
) -> None:
    created = emu.admin.create_operation(service=service, duration_s=0)
    with pytest.raises(Unimplemented, match=r"(?i)delete"):
        flavour.call("delete", created["name"], service=service)
    assert route_count(emu, "delete", created["name"]) == 0


@pytest.mark.parametrize("service", ALL)
def test_wait_until_done(flavour: Flavour, emu: EmulatorServer, service: str) -> None:
    created = emu.admin.create_operation(service=service, duration_s=0.4)
    op = flavour.call("wait", created["name"], service=service, timeout=10)
    assert op.state is OperationState.SUCCEEDED
    server_wait = services.get_service(service).supports(Verb.WAIT)
    assert (route_count(emu, "wait", created["name"]) > 0) is server_wait


def test_wait_deadline_raises_wait_timeout_with_last_operation(flavour: Flavour, emu: EmulatorServer) -> None:
    created = emu.admin.create_operation(service="dataproc", duration_s=600)
    with pytest.raises(WaitTimeout) as info:
        flavour.call("wait", created["name"], service="dataproc", timeout=0.3)
    assert info.value.operation is not None and info.value.operation.name == created["name"]
    assert flavour.sleeps and max(flavour.sleeps) <= 0.3 + 1e-6  # no single sleep reaches past the deadline


@pytest.mark.parametrize("service", ALL)
def test_list_a_parent(flavour: Flavour, emu: EmulatorServer, service: str) -> None:
    names = [emu.admin.create_operation(service=service, duration_s=600)["name"] for _ in range(3)]
    parent = names[0].rsplit("/operations/", 1)[0]
    listed = flavour.call("list", parent, service=service)
    assert [op.name for op in listed] == names


@pytest.mark.parametrize(
    ("service", "parent_form"),
    [
        ("dataproc", "{parent}/operations"),  # Dataproc names the collection: name=projects/*/regions/*/operations
        ("spanner", "{parent}/operations"),  # Spanner likewise, under instances
        ("datafusion", "{parent}"),  # others take {parent}
    ],
)
def test_list_both_shapes_and_every_page(flavour: Flavour, emu: EmulatorServer, service: str, parent_form: str) -> None:
    names = [emu.admin.create_operation(service=service, duration_s=600)["name"] for _ in range(25)]
    parent = names[0].rsplit("/operations/", 1)[0]
    listed = flavour.call("list", parent_form.format(parent=parent), service=service, page_size=10)
    assert [op.name for op in listed] == names  # every operation exactly once, in the server's stable order
    assert route_count(emu, "list") == 3


def test_list_max_results_stops_fetching(flavour: Flavour, emu: EmulatorServer) -> None:
    names = [emu.admin.create_operation(service="alloydb", duration_s=600)["name"] for _ in range(25)]
    parent = names[0].rsplit("/operations/", 1)[0]
    listed = flavour.call("list", parent, service="alloydb", page_size=10, max_results=12)
    assert [op.name for op in listed] == names[:12]
    assert route_count(emu, "list") == 2


def test_list_with_a_filter(flavour: Flavour, emu: EmulatorServer) -> None:
    done = emu.admin.create_operation(service="datalineage", duration_s=0)["name"]
    running = emu.admin.create_operation(service="datalineage", duration_s=600)["name"]
    parent = done.rsplit("/operations/", 1)[0]
    assert [op.name for op in flavour.call("list", parent, service="datalineage", filter="done = true")] == [done]
    assert [op.name for op in flavour.call("list", parent, service="datalineage", filter="done = false")] == [running]


@pytest.mark.parametrize("form", ["full_resource_name", "rest_url"])
def test_other_name_forms_reach_the_same_operation(flavour: Flavour, emu: EmulatorServer, form: str) -> None:
    created = emu.admin.create_operation(service="dataproc", location="us-central1", duration_s=600)
    if form == "full_resource_name":
        value = f"//dataproc.googleapis.com/{created['name']}"
    else:
        value = f"https://us-central1-dataproc.googleapis.com/v1/{created['name']}?alt=json"
    assert flavour.call("get", value).name == created["name"]


def test_every_request_names_the_process_that_sent_it(flavour: Flavour, emu: EmulatorServer) -> None:
    """The User-Agent carries the pid, and the emulator's history records it per request (which triggerer polled)."""
    running = emu.admin.create_operation(service="dataproc", duration_s=600)
    flavour.call("get", running["name"], service="dataproc")
    flavour.call("cancel", running["name"], service="dataproc")
    clients = [r.get("client") for r in emu.admin.history(running["name"])["requests"]]
    assert clients == [f"airflow-provider-gcp-ops (pid {os.getpid()})"] * 2

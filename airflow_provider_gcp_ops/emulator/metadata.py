"""Operation ``metadata`` (and default ``response``) as each service writes it, field order as in the protos.

Shapes follow recorded Google traffic (``tests/fixtures/recorded``): Dataproc ``ClusterOperationMetadata``,
AlloyDB/Data Fusion ``OperationMetadata``, Composer/Data Lineage state+resource metadata, Vertex AI
``genericMetadata``, Spanner ``UpdateInstanceMetadata``, Cloud Run's resource-as-metadata, Dialogflow's
knowledge-operation ``state``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_gcp_ops.emulator.catalog import EMPTY, MetadataKind
from airflow_provider_gcp_ops.emulator.wire import rfc3339

if TYPE_CHECKING:
    from airflow_provider_gcp_ops.emulator.operation import Event, Operation


def build(op: Operation, events: list[Event]) -> dict[str, Any]:
    kind = op.profile.metadata_kind
    doc: dict[str, Any] = {"@type": op.profile.metadata_type_for(op.api_version)}
    doc.update(_BUILDERS[kind](op, events))
    if op.metadata_overrides:
        doc = merge(doc, op.metadata_overrides)
    return doc


def default_response(op: Operation) -> dict[str, Any]:
    type_url = op.profile.response_type_for(op.api_version)
    if type_url == EMPTY:
        return {"@type": EMPTY}
    if op.profile.metadata_kind is MetadataKind.RUN:
        return {"@type": type_url, **_run_service(op, op.full_timeline(), reconciling=False)}
    return {"@type": type_url, "name": op.resource_name}


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``override`` into a copy of ``base`` (dicts merge, everything else replaces)."""
    out = dict(base)
    for key, value in override.items():
        current = out.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            out[key] = merge(current, value)
        else:
            out[key] = value
    return out


def _ts(op: Operation, virtual: float) -> str:
    return rfc3339(op.wall(virtual))


def _dataproc(op: Operation, events: list[Event]) -> dict[str, Any]:
    def state(phase_name: str) -> str:
        return phase_name if phase_name in ("PENDING", "RUNNING") else "DONE"

    phase, since = events[-1]
    status: dict[str, Any] = {"state": state(phase.value), "innerState": state(phase.value)}
    if phase.done and phase.value != "SUCCEEDED":
        status["details"] = _error_message(op, phase.value)
    status["stateStartTime"] = _ts(op, since)
    doc: dict[str, Any] = {
        "clusterName": op.resource_name.rsplit("/", 1)[-1],
        "clusterUuid": op.resource_uuid,
        "status": status,
    }
    if len(events) > 1:
        doc["statusHistory"] = [{"state": state(p.value), "stateStartTime": _ts(op, t)} for p, t in events[:-1]]
    doc["operationType"] = op.profile.verb.upper()
    doc["description"] = f"{op.profile.verb.capitalize()} cluster"
    return doc


def _generic(op: Operation, events: list[Event]) -> dict[str, Any]:
    phase, since = events[-1]
    doc: dict[str, Any] = {"createTime": _ts(op, op.created_v)}
    if phase.done:
        doc["endTime"] = _ts(op, since)
    doc["target"] = op.resource_name
    doc["verb"] = op.profile.verb
    doc["requestedCancellation"] = op.cancel_requested_v is not None
    doc["apiVersion"] = op.api_version
    return doc


def _state_resource(op: Operation, events: list[Event]) -> dict[str, Any]:
    phase, since = events[-1]
    state = "FAILED" if phase.value == "CANCELLED" else phase.value
    doc: dict[str, Any] = {
        "state": state,
        "operationType": op.profile.verb.upper(),
        "resource": op.resource_name,
        "resourceUuid": op.resource_uuid,
        "createTime": _ts(op, op.created_v),
    }
    if phase.done:
        doc["endTime"] = _ts(op, since)
    return doc


def _vertex(op: Operation, events: list[Event]) -> dict[str, Any]:
    return {"genericMetadata": {"createTime": _ts(op, op.created_v), "updateTime": _ts(op, events[-1][1])}}


def _spanner(op: Operation, events: list[Event]) -> dict[str, Any]:
    phase, since = events[-1]
    doc: dict[str, Any] = {"instance": {"name": op.resource_name}, "startTime": _ts(op, op.created_v)}
    if op.cancel_requested_v is not None:
        doc["cancelTime"] = _ts(op, op.cancel_requested_v)
    if phase.done:
        doc["endTime"] = _ts(op, since)
    return doc


def _run(op: Operation, events: list[Event]) -> dict[str, Any]:
    return _run_service(op, events, reconciling=not events[-1][0].done)


def _run_service(op: Operation, events: list[Event], *, reconciling: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": op.resource_name,
        "uid": op.resource_uuid,
        "generation": "1",
        "createTime": _ts(op, op.created_v),
        "updateTime": _ts(op, events[-1][1]),
        "launchStage": "GA",
    }
    if reconciling:
        doc["reconciling"] = True
    return doc


def _dialogflow(op: Operation, events: list[Event]) -> dict[str, Any]:
    phase = events[-1][0]
    return {"state": "DONE" if phase.done else phase.value}


def _error_message(op: Operation, phase_name: str) -> str:
    if phase_name == "CANCELLED":
        return "Operation was cancelled."
    return str((op.error or {}).get("message", ""))


_BUILDERS = {
    MetadataKind.DATAPROC: _dataproc,
    MetadataKind.GENERIC: _generic,
    MetadataKind.STATE_RESOURCE: _state_resource,
    MetadataKind.VERTEX: _vertex,
    MetadataKind.SPANNER: _spanner,
    MetadataKind.RUN: _run,
    MetadataKind.DIALOGFLOW: _dialogflow,
}

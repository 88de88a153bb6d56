"""``POST /emulator/v1/operations``: validate the request and build the operation it describes.

Keys (all but ``service`` optional)::

    service          a service key of the service table ("dataproc", "spanner", ...)
    project          "demo-project"
    location         the service's default (us-central1; "global" for Dialogflow; the instance id for Spanner)
    duration_s       60 (virtual seconds; 0 = done at once)
    pending_s        min(1, duration_s / 10): the first part of the run reported as PENDING
    outcome          {"response": {...}} | {"error": {"code": <rpc code 1..16>, "message": "...", "details": []}}
    cancel           "cancellable" | "ignored" | "unimplemented" (default: "unimplemented" where the service has
                     no cancel verb, else "cancellable")
    cancel_delay_s   0.5 (virtual seconds between the cancel request and the CANCELLED end)
    metadata         an object deep-merged over the generated metadata (may override "@type")
    name             an explicit full operation name (must fit one of the service's name patterns)
    operation_id     the last segment of the name
    parent           the collection the operation lives under (e.g. a Vertex dataset)
    created_ago_s    backdate the operation by that many seconds (virtual and createTime)
    api_version      the version the metadata @type is written for (default: the service's first version)
    done             true: shorthand for duration_s 0
"""

from __future__ import annotations

import math
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from airflow_provider_gcp_ops.emulator.catalog import profile_for
from airflow_provider_gcp_ops.emulator.operation import CancelMode, Operation, new_operation_id
from airflow_provider_gcp_ops.emulator.state import EmulatorState
from airflow_provider_gcp_ops.operations.codes import RpcCode
from airflow_provider_gcp_ops.operations.services import ServiceSpec, UnknownServiceError, Verb, get_service

CREATE_KEYS = frozenset(
    {
        "service",
        "project",
        "location",
        "duration_s",
        "pending_s",
        "outcome",
        "cancel",
        "cancel_delay_s",
        "metadata",
        "name",
        "operation_id",
        "parent",
        "created_ago_s",
        "api_version",
        "done",
    }
)
_SEGMENT = re.compile(r"^[A-Za-z0-9_.~:@-]{1,128}$")
_MAX_SECONDS = 10.0 * 365 * 86400


class CreateError(ValueError):
    """Bad admin input; ``code`` is the rpc code to answer with (INVALID_ARGUMENT or ALREADY_EXISTS)."""

    def __init__(self, message: str, field: str = "", code: RpcCode = RpcCode.INVALID_ARGUMENT) -> None:
        super().__init__(message)
        self.field = field
        self.code = code


def create_operation(state: EmulatorState, data: object) -> Operation:
    if not isinstance(data, Mapping):
        raise CreateError("the request body must be a JSON object", "")
    unknown = set(data) - CREATE_KEYS
    if unknown:
        raise CreateError(f"unknown key(s) {sorted(unknown)}; allowed: {sorted(CREATE_KEYS)}", sorted(unknown)[0])
    service = data.get("service")
    if not isinstance(service, str):
        raise CreateError("'service' is required and must be a string", "service")
    try:
        spec = get_service(service)
    except UnknownServiceError as exc:
        raise CreateError(str(exc), "service") from None
    profile = profile_for(spec)

    duration = _seconds(data, "duration_s", 60.0)
    done = data.get("done")
    if done is not None and not isinstance(done, bool):
        raise CreateError("'done' must be true or false", "done")
    if done:
        if "duration_s" in data and duration > 0:
            raise CreateError("'done': true contradicts a positive 'duration_s'", "done")
        duration = 0.0
    pending = _seconds(data, "pending_s", min(1.0, duration / 10))
    cancel_delay = _seconds(data, "cancel_delay_s", 0.5)
    created_ago = _seconds(data, "created_ago_s", 0.0)
    cancel_mode = _cancel_mode(data.get("cancel"), spec)
    error, response = _outcome(data.get("outcome"))
    metadata = data.get("metadata", {})
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, Mapping):
        raise CreateError("'metadata' must be an object", "metadata")
    api_version = data.get("api_version", spec.default_version)
    if api_version not in spec.versions:
        raise CreateError(f"'api_version' must be one of {list(spec.versions)} for {spec.key}", "api_version")

    now_wall = time.time()
    name, parent, project, location = _name(state, spec, data, now_wall)
    if state.store.get(name) is not None:
        raise CreateError(f"Operation '{name}' already exists.", "name", RpcCode.ALREADY_EXISTS)

    resource_id = f"{profile.resource_collection.rstrip('s').lower()}-{state.ids.getrandbits(32):08x}"
    if "parent" in data or "name" in data or profile.collection == profile.resource_collection:
        resource_name = parent  # given explicitly, or the collection is the resource (a Spanner instance)
    else:
        resource_name = f"{parent}/{profile.resource_collection}/{resource_id}"

    op = Operation(
        name=name,
        parent=parent,
        spec=spec,
        profile=profile,
        project=project,
        location=location,
        api_version=str(api_version),
        seq=state.store.next_seq(),
        created_v=state.clock.now() - created_ago,
        create_wall=now_wall - created_ago,
        duration_s=duration,
        pending_s=min(pending, duration),
        cancel_mode=cancel_mode,
        cancel_delay_s=cancel_delay,
        resource_name=resource_name,
        resource_uuid=str(uuid.UUID(int=state.ids.getrandbits(128), version=4)),
        error=error,
        response=response,
        metadata_overrides=dict(metadata),
    )
    state.store.add(op)
    state.history.opened(op, state.clock)
    state.stats.operations_created += 1
    return op


def _seconds(data: Mapping[str, Any], key: str, default: float) -> float:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
        raise CreateError(f"'{key}' must be a number of seconds", key)
    if value < 0:
        raise CreateError(f"'{key}' must not be negative", key)
    if value > _MAX_SECONDS:
        raise CreateError(f"'{key}' must be at most {_MAX_SECONDS:.0f} seconds", key)
    return float(value)


def _cancel_mode(value: object, spec: ServiceSpec) -> CancelMode:
    if value is None:
        return CancelMode.CANCELLABLE if spec.supports(Verb.CANCEL) else CancelMode.UNIMPLEMENTED
    try:
        return CancelMode(value)
    except ValueError:
        modes = [m.value for m in CancelMode]
        raise CreateError(f"'cancel' must be one of {modes}, got {value!r}", "cancel") from None


def _outcome(value: object) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    if value is None:
        return None, None
    if not isinstance(value, Mapping) or len(value) != 1 or next(iter(value)) not in ("response", "error"):
        raise CreateError('\'outcome\' must be {"response": {...}} or {"error": {"code": ..., ...}}', "outcome")
    if "response" in value:
        response = value["response"]
        if not isinstance(response, Mapping):
            raise CreateError("'outcome.response' must be an object", "outcome.response")
        if "@type" in response and not isinstance(response["@type"], str):
            raise CreateError("'outcome.response.@type' must be a string", "outcome.response")
        doc = dict(response)
        doc.setdefault("@type", "type.googleapis.com/google.protobuf.Empty")
        return None, {"@type": doc.pop("@type"), **doc}
    error = value["error"]
    if not isinstance(error, Mapping):
        raise CreateError("'outcome.error' must be an object", "outcome.error")
    unknown = set(error) - {"code", "message", "details"}
    if unknown:
        raise CreateError(f"'outcome.error' has unknown key(s) {sorted(unknown)}", "outcome.error")
    code = error.get("code")
    parsed = RpcCode.parse(code)
    if parsed is None or parsed is RpcCode.OK:
        raise CreateError("'outcome.error.code' must be a google.rpc.Code from 1 to 16 (or its name)", "outcome.error")
    message = error.get("message", parsed.name.replace("_", " ").capitalize() + ".")
    if not isinstance(message, str):
        raise CreateError("'outcome.error.message' must be a string", "outcome.error")
    details = error.get("details")
    status: dict[str, Any] = {"code": int(parsed), "message": message}
    if details is not None:
        if not isinstance(details, list) or not all(isinstance(d, Mapping) and "@type" in d for d in details):
            raise CreateError("'outcome.error.details' must be a list of objects with '@type'", "outcome.error")
        if details:
            status["details"] = [dict(d) for d in details]
    return status, None


def _segment(data: Mapping[str, Any], key: str, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not _SEGMENT.match(value):
        raise CreateError(f"'{key}' must be a non-empty name segment ([A-Za-z0-9_.~:@-], no '/')", key)
    return value


def _name(
    state: EmulatorState, spec: ServiceSpec, data: Mapping[str, Any], now_wall: float
) -> tuple[str, str, str, str]:
    """(name, parent, project, location) from ``name`` / ``parent`` + ``operation_id`` / project + location."""
    profile = profile_for(spec)
    if "name" in data:
        clash = sorted({"parent", "operation_id", "project", "location"} & set(data))
        if clash:
            raise CreateError(f"'name' cannot be combined with {clash}", "name")
        name = data["name"]
        if not isinstance(name, str) or not spec.matches(name):
            raise CreateError(f"'name' must match one of {list(spec.name_patterns)} for {spec.key}", "name")
        parent = name.rsplit("/operations/", 1)[0]
        project, location = _project_location(parent)
        return name, parent, project, location
    op_id = _segment(data, "operation_id", new_operation_id(profile.id_style, state.ids, now_wall))
    if "parent" in data:
        clash = sorted({"project", "location"} & set(data))
        if clash:
            raise CreateError(f"'parent' cannot be combined with {clash}", "parent")
        parent = data["parent"]
        if not isinstance(parent, str) or not parent or parent.endswith("/") or "//" in parent:
            raise CreateError("'parent' must be a collection path such as projects/p/locations/l", "parent")
        name = f"{parent}/operations/{op_id}"
        if not spec.matches(name):
            raise CreateError(f"'{name}' does not match {list(spec.name_patterns)} for {spec.key}", "parent")
        project, location = _project_location(parent)
        return name, parent, project, location
    project = _segment(data, "project", "demo-project")
    location = _segment(data, "location", profile.default_location)
    parent = profile.collection_path(project, location)
    name = f"{parent}/operations/{op_id}"
    if not spec.matches(name):
        raise CreateError(f"'{name}' does not match {list(spec.name_patterns)} for {spec.key}", "location")
    return name, parent, project, location


def _project_location(parent: str) -> tuple[str, str]:
    parts = parent.split("/")
    project = parts[1] if len(parts) > 1 and parts[0] == "projects" else ""
    location = parts[3] if len(parts) > 3 else "global"
    return project, location

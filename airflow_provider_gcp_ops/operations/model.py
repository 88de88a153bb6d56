"""``google.longrunning.Operation`` as a frozen value, parsed tolerantly from REST JSON.

The JSON is kept as plain dicts (``metadata``, ``response``): services put arbitrary ``@type`` messages there
and this library must not need their protos. What the library does need from them (state, start and end
times) is derived here, in one place, from the shapes real services send (see ``tests/operations`` and the
recorded traffic in ``tests/fixtures/recorded``, from GoogleCloudPlatform/k8s-config-connector).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_provider_gcp_ops.operations.codes import RpcCode
from airflow_provider_gcp_ops.operations.errors import MalformedResponseError

__all__ = ["Operation", "OperationState", "Status", "parse_timestamp"]


class OperationState(str, enum.Enum):
    """What a caller needs to know about an operation; derived only by :attr:`Operation.state`."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self is not OperationState.RUNNING


_TIMESTAMP = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<h>\d{2}):(?P<m>\d{2}):(?P<s>\d{2})"
    r"(?:\.(?P<frac>\d{1,9}))?(?P<tz>[Zz]|[+-]\d{2}:\d{2})"
)


def parse_timestamp(value: object) -> datetime | None:
    """An RFC 3339 timestamp (0-9 fractional digits, ``Z`` or an offset) as an aware UTC datetime.

    Returns ``None`` for anything else (missing, wrong type, malformed, out of range) instead of raising:
    timestamps only feed display and the poll schedule, never a decision about success.
    Nanoseconds are truncated to microseconds; a leap second (``:60``) is read as ``:59.999999``.
    """
    if not isinstance(value, str):
        return None
    match = _TIMESTAMP.fullmatch(value.strip())
    if not match:
        return None
    try:
        year, month, day = (int(x) for x in match.group("date").split("-"))
        hour, minute, second = int(match.group("h")), int(match.group("m")), int(match.group("s"))
        micro = int((match.group("frac") or "0")[:6].ljust(6, "0"))
        if second == 60:
            second, micro = 59, 999_999
        tz_text = match.group("tz")
        if tz_text in ("Z", "z"):
            tz = timezone.utc
        else:
            sign = 1 if tz_text[0] == "+" else -1
            hours, minutes = int(tz_text[1:3]), int(tz_text[4:6])
            if hours > 23 or minutes > 59:
                return None
            tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz).astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None


@dataclass(frozen=True)
class Status:
    """``google.rpc.Status`` of a finished operation. ``code`` is the **rpc** code (1 = CANCELLED)."""

    code: int
    message: str = ""
    details: tuple[dict[str, Any], ...] = field(default=(), hash=False)

    @property
    def rpc_name(self) -> str:
        try:
            return RpcCode(self.code).name
        except ValueError:
            return f"CODE_{self.code}"

    @classmethod
    def from_json(cls, data: object) -> Status:
        """Tolerant: ``code`` as int, numeric string or rpc name; a missing code is 0 (proto3 default)."""
        if not isinstance(data, Mapping):
            raise MalformedResponseError(f"operation error must be a JSON object, got {type(data).__name__}")
        raw_code = data.get("code", 0)
        code: int
        if raw_code is None:
            code = 0
        elif isinstance(raw_code, int) and not isinstance(raw_code, bool):
            code = raw_code
        elif (isinstance(raw_code, float) and raw_code.is_integer()) or (
            isinstance(raw_code, str) and re.fullmatch(r"\s*-?\d+\s*", raw_code)
        ):
            code = int(raw_code)
        else:
            parsed = RpcCode.parse(raw_code)
            code = int(parsed) if parsed is not None else int(RpcCode.UNKNOWN)
        message = data.get("message")
        raw_details = data.get("details")
        details = tuple(dict(d) for d in raw_details if isinstance(d, Mapping)) if isinstance(raw_details, list) else ()
        return cls(code=code, message=message if isinstance(message, str) else "", details=details)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code}
        if self.message:
            out["message"] = self.message
        if self.details:
            out["details"] = [dict(d) for d in self.details]
        return out


def _path(data: Mapping[str, Any] | None, *keys: str | int) -> object:
    node: object = data
    for key in keys:
        if isinstance(key, int):
            if not isinstance(node, list) or not node:
                return None
            node = node[key] if -len(node) <= key < len(node) else None
        else:
            if not isinstance(node, Mapping):
                return None
            node = node.get(key)
    return node


def _dataproc_done(md: Mapping[str, Any]) -> object:
    if _path(md, "status", "state") == "DONE":
        return _path(md, "status", "stateStartTime")
    return None


_Getter = Callable[[Mapping[str, Any]], object]

# Where services put an operation's start time, most specific first. Each getter reads one known shape.
_START_GETTERS: tuple[_Getter, ...] = (
    lambda md: md.get("createTime"),  # generic OperationMetadata, Dataproc Batch/Session, Composer, Redis
    lambda md: _path(md, "genericMetadata", "createTime"),  # Vertex AI
    lambda md: md.get("startTime"),  # Spanner instance ops, Firestore
    lambda md: md.get("requestTime"),  # Bigtable
    lambda md: _path(md, "commonMetadata", "startTime"),
    lambda md: _path(md, "commonMetadata", "createTime"),
    lambda md: _path(md, "common", "startTime"),  # Datastore admin
    lambda md: _path(md, "statusHistory", 0, "stateStartTime"),  # Dataproc cluster ops: first state
    lambda md: _path(md, "status", "stateStartTime"),  # ... else the current state (first poll: PENDING)
    lambda md: _path(md, "progress", "startTime"),
    lambda md: _path(md, "progress", 0, "startTime"),  # Spanner DDL: one progress entry per statement
)

_END_GETTERS: tuple[_Getter, ...] = (
    lambda md: md.get("endTime"),
    lambda md: md.get("doneTime"),  # Dataproc Batch/Session
    lambda md: md.get("finishTime"),  # Bigtable
    lambda md: _path(md, "genericMetadata", "updateTime"),  # Vertex AI: "if finished, the finish time"
    lambda md: _path(md, "commonMetadata", "endTime"),
    lambda md: _path(md, "common", "endTime"),
    _dataproc_done,  # Dataproc cluster ops: the DONE state's start is the end
    lambda md: _path(md, "progress", "endTime"),
    lambda md: _path(md, "progress", -1, "endTime"),
)


# Services that echo the *resource* as metadata (Cloud Run v2 sends its ``Service``): the resource's latest
# mutation time is when this operation started. Its createTime alone would make an update or a delete of an old
# service look hours old and slow the poll schedule down. (Checked on the recorded Cloud Run traffic.)
_RESOURCE_START_GETTERS: tuple[_Getter, ...] = (
    lambda md: md.get("deleteTime"),
    lambda md: md.get("updateTime"),
    lambda md: md.get("createTime"),
)


def _is_operation_metadata(md: Mapping[str, Any]) -> bool:
    """False when the metadata is a resource snapshot rather than an ``...Metadata``/``...Status`` message."""
    kind = md.get("@type")
    if not isinstance(kind, str) or not kind:
        return True
    short = kind.rsplit("/", 1)[-1].rsplit(".", 1)[-1]
    return "Metadata" in short or "Status" in short


def _first_time(
    md: Mapping[str, Any] | None, getters: tuple[_Getter, ...], resource_getters: tuple[_Getter, ...] = ()
) -> datetime | None:
    if not isinstance(md, Mapping):
        return None
    if not _is_operation_metadata(md):
        getters = resource_getters
    for getter in getters:
        found = parse_timestamp(getter(md))
        if found is not None:
            return found
    return None


def _parse_done(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise MalformedResponseError(f"operation field 'done' must be a boolean, got {value!r:.40}")


def _object_or_none(data: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise MalformedResponseError(f"operation field {key!r} must be a JSON object, got {type(value).__name__}")
    return dict(value)


@dataclass(frozen=True)
class Operation:
    """One ``google.longrunning.Operation``. ``name`` is the server's relative name, as sent."""

    name: str
    done: bool
    metadata: Mapping[str, Any] | None = field(default=None, hash=False)
    error: Status | None = None
    response: Mapping[str, Any] | None = field(default=None, hash=False)

    @property
    def state(self) -> OperationState:
        """The single place that decides an operation's state.

        Not done: RUNNING. Done with an error of rpc code 1: CANCELLED (how a successful cancel ends). Done
        with any other error (code 0 included: an error object present is never a success): FAILED.
        Done with a response or with neither: SUCCEEDED (``google.protobuf.Empty`` may be omitted).
        """
        if not self.done:
            return OperationState.RUNNING
        if self.error is not None:
            return OperationState.CANCELLED if self.error.code == RpcCode.CANCELLED else OperationState.FAILED
        return OperationState.SUCCEEDED

    @property
    def metadata_type(self) -> str | None:
        kind = self.metadata.get("@type") if self.metadata else None
        return kind if isinstance(kind, str) else None

    @property
    def response_type(self) -> str | None:
        kind = self.response.get("@type") if self.response else None
        return kind if isinstance(kind, str) else None

    def start_time(self) -> datetime | None:
        """When the operation started, read from whichever known metadata shape is present; else ``None``.

        For a resource snapshot as metadata (Cloud Run v2) it is the resource's latest ``deleteTime``/
        ``updateTime``/``createTime``: an estimate, good enough for the poll schedule it feeds.
        """
        return _first_time(self.metadata, _START_GETTERS, _RESOURCE_START_GETTERS)

    def end_time(self) -> datetime | None:
        """When the operation finished, if it is done and the metadata says when; else ``None``.

        A running operation has no end time even when its metadata carries an end-ish field (Dataproc batch
        metadata can carry ``doneTime`` from the start).
        """
        return _first_time(self.metadata, _END_GETTERS) if self.done else None

    def summary(self) -> dict[str, Any]:
        """A small JSON-safe description for logs, XCom and trigger events."""
        started = self.start_time()
        return {
            "name": self.name,
            "done": self.done,
            "state": self.state.value,
            "error_code": self.error.code if self.error else None,
            "error_status": self.error.rpc_name if self.error else None,
            "error_message": self.error.message if self.error else None,
            "metadata_type": self.metadata_type,
            "start_time": started.isoformat() if started else None,
        }

    @classmethod
    def from_json(cls, data: object) -> Operation:
        """Parse REST JSON. A missing ``done`` is ``False`` (proto3 omits false); ``"true"``/``"false"`` strings
        are accepted; ``error.code`` may be an int, a numeric string or an rpc name.

        Raises :class:`MalformedResponseError` when ``data`` is not an object, has no string ``name``, or a
        field has an impossible type.
        """
        if not isinstance(data, Mapping):
            raise MalformedResponseError(f"an Operation must be a JSON object, got {type(data).__name__}")
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise MalformedResponseError("an Operation must have a non-empty string 'name'")
        raw_error = data.get("error")
        return cls(
            name=name,
            done=_parse_done(data.get("done")),
            metadata=_object_or_none(data, "metadata"),
            error=Status.from_json(raw_error) if raw_error is not None else None,
            response=_object_or_none(data, "response"),
        )

    def to_json(self) -> dict[str, Any]:
        """REST JSON again (``done: false`` kept explicit); ``from_json(op.to_json()) == op``."""
        out: dict[str, Any] = {"name": self.name, "done": self.done}
        if self.metadata is not None:
            out["metadata"] = dict(self.metadata)
        if self.error is not None:
            out["error"] = self.error.to_json()
        if self.response is not None:
            out["response"] = dict(self.response)
        return out

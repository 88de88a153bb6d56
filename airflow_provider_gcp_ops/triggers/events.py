"""The one event schema the trigger yields and the operators validate on resume.

Pure data, no Airflow or HTTP import: operator modules import it on every DAG parse.

``status``:
- ``done``: the operation finished; ``operation.state`` says how (succeeded / failed / cancelled).
- ``timeout``: the task's deadline came first; ``operation`` is the last state seen (may be ``None``).
- ``error``: a non-transient API error ended the wait (not found, permission denied...); ``error_type`` names it.

Every value is JSON-safe. ``dags test`` replaces ``defer()``'s kwargs with ``{"event": ...}``, so the event
carries everything ``execute_complete`` needs (name, service, api version).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SCHEMA_VERSION = 1
STATUSES = ("done", "timeout", "error")
STATES = ("running", "succeeded", "failed", "cancelled")


class MalformedEventError(ValueError):
    """An event that is not of our schema: the task fails with this message instead of guessing."""


@dataclass(frozen=True)
class OperationEvent:
    status: str
    name: str
    service: str
    api_version: str
    message: str = ""
    operation: Mapping[str, Any] | None = None  # Operation.summary()
    error_type: str | None = None

    @property
    def state(self) -> str | None:
        return None if self.operation is None else str(self.operation.get("state"))

    def to_payload(self) -> dict[str, Any]:
        return {
            "v": SCHEMA_VERSION,
            "status": self.status,
            "name": self.name,
            "service": self.service,
            "api_version": self.api_version,
            "message": self.message,
            "operation": None if self.operation is None else dict(self.operation),
            "error_type": self.error_type,
        }

    @classmethod
    def from_payload(cls, payload: object) -> OperationEvent:
        """Validate an event payload; raise :class:`MalformedEventError` naming what is wrong."""
        if not isinstance(payload, Mapping):
            raise MalformedEventError(f"trigger event must be a mapping, got {type(payload).__name__}")
        if payload.get("v") != SCHEMA_VERSION:
            raise MalformedEventError(f"trigger event schema version {payload.get('v')!r} is not {SCHEMA_VERSION}")
        status = payload.get("status")
        if status not in STATUSES:
            raise MalformedEventError(f"trigger event status {status!r} is not one of {STATUSES}")
        for key in ("name", "service", "api_version", "message"):
            if not isinstance(payload.get(key), str):
                raise MalformedEventError(f"trigger event field {key!r} must be a string, got {payload.get(key)!r}")
        operation = payload.get("operation")
        if operation is not None and (not isinstance(operation, Mapping) or operation.get("state") not in STATES):
            raise MalformedEventError(f"trigger event operation summary is malformed: {operation!r}"[:300])
        if status == "done" and (operation is None or operation.get("state") == "running"):
            raise MalformedEventError("a 'done' trigger event must carry a finished operation")
        error_type = payload.get("error_type")
        if error_type is not None and not isinstance(error_type, str):
            raise MalformedEventError(f"trigger event error_type must be a string, got {error_type!r}")
        return cls(
            status=str(status),
            name=str(payload["name"]),
            service=str(payload["service"]),
            api_version=str(payload["api_version"]),
            message=str(payload["message"]),
            operation=operation,
            error_type=error_type,
        )

"""Start methods: any ``POST /{ver}/{path}`` that is not an Operations route creates an operation and returns it.

That is how Google's create-style methods answer (Dataproc ``batches.create``, Spanner ``databases:restore``...):
with a fresh ``Operation``. ``StartOperationOperator`` is tested against this route.

Which service: ``x-emulator-service`` or ``emulator.service`` in the JSON body, else the only service whose
operation name patterns fit the path's parent (``projects/p/regions/r/...`` is Dataproc's alone;
``projects/p/locations/l/...`` fits many services, so name one). The operation lives under that parent:
``{projects/p/<collection>/<location>}/operations/{id}``.

How it runs: headers ``x-emulator-duration-s``, ``x-emulator-outcome`` (JSON), ``x-emulator-cancel``,
``x-emulator-cancel-delay-s``, or the same keys (``duration_s``, ``outcome``, ``cancel``, ``cancel_delay_s``,
``metadata``) in a body object ``"emulator": {...}``, which is removed before the body is recorded.

Idempotency: a ``requestId`` query parameter seen before for the same path returns the same operation (as
Dataproc and AlloyDB do), so a retried create does not start a second one. Faults: rules with route ``"*"`` apply
(with ``match`` to aim at a path); the route is counted as ``"start"`` in the stats.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from airflow_provider_gcp_ops.emulator.create import CreateError, create_operation
from airflow_provider_gcp_ops.emulator.google_routes import _VERSION, OperationsApi, Route, parse_route
from airflow_provider_gcp_ops.emulator.responses import ConnectionResetResponse, google_error, json_response
from airflow_provider_gcp_ops.emulator.state import EmulatorState
from airflow_provider_gcp_ops.operations.codes import RpcCode
from airflow_provider_gcp_ops.operations.services import Verb, services

__all__ = ["StartMethods", "is_start_method", "recorded_calls"]

_HEADER_KEYS = {
    "x-emulator-duration-s": "duration_s",
    "x-emulator-outcome": "outcome",
    "x-emulator-cancel": "cancel",
    "x-emulator-cancel-delay-s": "cancel_delay_s",
    "x-emulator-service": "service",
}
_OPTION_KEYS = frozenset({"service", "duration_s", "outcome", "cancel", "cancel_delay_s", "metadata"})
_MAX_BODY = 1024 * 1024
_MAX_CALLS = 200

_BY_STATE: weakref.WeakKeyDictionary[EmulatorState, StartMethods] = weakref.WeakKeyDictionary()


def is_start_method(method: str, path: str) -> bool:
    """A POST the Operations routes do not map, under ``/{version}/projects/...``."""
    if method != "POST" or parse_route(method, path) is not None:
        return False
    version, _, rest = path[1:].partition("/")
    # A create method targets a resource collection, never the operations collection: a POST with an unknown
    # custom verb on an operation (".../operations/x:frobnicate") stays an unmapped URL (Google's HTML 404).
    if "/operations/" in rest or rest.endswith("/operations"):
        return False
    return bool(_VERSION.match(version)) and rest.startswith("projects/")


def recorded_calls(state: EmulatorState) -> list[dict[str, Any]]:
    """The start calls received since the last reset: ``{"path", "query", "body", "operation"}`` (tests read it)."""
    handler = _BY_STATE.get(state)
    return [] if handler is None else handler.calls()


class StartMethods:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self._api = OperationsApi(state)  # for the fault responses, shaped like the Operations routes'
        self._store: object = None
        self._by_request_id: dict[tuple[str, str], str] = {}
        self._calls: list[dict[str, Any]] = []
        _BY_STATE[state] = self

    def calls(self) -> list[dict[str, Any]]:
        self._forget_after_reset()
        return list(self._calls)

    def _forget_after_reset(self) -> None:
        if self._store is not self.state.store:  # reset() replaces the store
            self._store = self.state.store
            self._by_request_id.clear()
            self._calls.clear()

    async def handle(self, request: Request) -> Response:
        state = self.state
        self._forget_after_reset()
        path = request.scope["path"]
        state.stats.count_request("start", None)
        state.stats.begin()
        try:
            response = await self._handle(request, path)
            if not isinstance(response, ConnectionResetResponse):
                state.stats.count_response(response.status_code)
            return response
        finally:
            state.stats.end()

    async def _handle(self, request: Request, path: str) -> Response:
        state = self.state
        version, _, rest = path[1:].partition("/")
        segments = rest.split("/")
        segments[-1] = segments[-1].partition(":")[0]
        if state.config.auth and not _has_bearer(request):
            return google_error(RpcCode.UNAUTHENTICATED, "Request is missing required authentication credential.")
        try:
            body, options = await _body_and_options(request)
            spec, parent = _service_and_parent(segments, version, options.get("service"))
        except CreateError as exc:
            return google_error(exc.code, str(exc))
        fault = state.faults.decide("start", path)
        if fault is not None:
            state.stats.count_fault(fault.kind.value)
            faulted = await self._api._fault(fault, Route(Verb.GET, version, parent, path), spec)
            if faulted is not None:
                return faulted
        request_id = request.query_params.get("requestId")
        if request_id:
            known = self._by_request_id.get((path, request_id))
            existing = state.store.get(known) if known else None
            if existing is not None:
                return json_response(existing.as_json(state.clock.now()))
        data = {k: v for k, v in options.items() if k != "service"}
        try:
            op = create_operation(state, {**data, "service": spec.key, "parent": parent, "api_version": version})
        except CreateError as exc:
            return google_error(exc.code, str(exc))
        if request_id:
            self._by_request_id[(path, request_id)] = op.name
        self._calls.append({"path": path, "query": dict(request.query_params), "body": body, "operation": op.name})
        del self._calls[:-_MAX_CALLS]
        return json_response(op.as_json(state.clock.now()))


def _has_bearer(request: Request) -> bool:
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


async def _body_and_options(request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
    raw = await request.body()
    if len(raw) > _MAX_BODY:
        raise CreateError("request body too large")
    body: Any = {}
    if raw.strip():
        try:
            body = json.loads(raw)
        except ValueError:
            raise CreateError("Invalid JSON payload received.") from None
    if not isinstance(body, dict):
        raise CreateError("Invalid JSON payload received: expected an object.")
    options: dict[str, Any] = {}
    for header, key in _HEADER_KEYS.items():
        value = request.headers.get(header)
        if value is None:
            continue
        try:
            options[key] = value if key in ("cancel", "service") else json.loads(value)
        except ValueError:
            raise CreateError(f"header {header} is not valid JSON") from None
    embedded = body.pop("emulator", None)
    if embedded is not None:
        if not isinstance(embedded, Mapping):
            raise CreateError("'emulator' must be an object")
        options.update(embedded)
    unknown = set(options) - _OPTION_KEYS
    if unknown:
        raise CreateError(f"unknown emulator option(s) {sorted(unknown)}; allowed: {sorted(_OPTION_KEYS)}")
    return body, options


def _service_and_parent(segments: list[str], version: str, service: object) -> tuple[Any, str]:
    """The row that serves the call and the operation's parent (the longest matching ``projects/...`` prefix)."""
    parents = ["/".join(segments[:n]) for n in (4, 2) if len(segments) >= n and all(segments[:n])]
    rows = [s for s in services() if version in s.versions]
    if service is not None:
        rows = [s for s in rows if s.key == service]
        if not rows:
            raise CreateError(f"service {service!r} is unknown or has no API version {version!r}")
    for parent in parents:
        fitting = [s for s in rows if s.matches(f"{parent}/operations/x")]
        if len(fitting) == 1:
            return fitting[0], parent
        if len(fitting) > 1:
            keys = ", ".join(sorted(s.key for s in fitting))
            raise CreateError(
                f"the path fits several services ({keys}); name one with 'emulator.service' or x-emulator-service"
            )
    raise CreateError("the path is not under a parent any service's operations live in")

"""The admin API (``/emulator/v1/...``): create operations, read counters and history, set faults and config.

    POST   /emulator/v1/operations   create an operation (keys: see ``create.py``) -> the Operation JSON
    GET    /emulator/v1/stats        counters (see ``stats.py``)
    GET    /emulator/v1/history      ?name=<operation name> -> requests and states of one operation; 404 if unknown
    GET    /emulator/v1/faults       the fault plan, with how often each rule fired
    PUT    /emulator/v1/faults       {"seed": 1, "rules": [...]} replaces the plan (see ``faults.py``)
    DELETE /emulator/v1/faults       clears the plan
    GET    /emulator/v1/config       the configuration
    PUT    /emulator/v1/config       {"denied_projects": [...], ...} updates the given keys (see ``config.py``)
    POST   /emulator/v1/reset        drops operations, counters, history, faults; restores the start configuration
    GET    /emulator/v1/health       {"status": "ok"}

No auth and no faults on these routes. Bad input answers 400 INVALID_ARGUMENT in Google's error shape.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from airflow_provider_gcp_ops.emulator import wire
from airflow_provider_gcp_ops.emulator.config import ConfigError
from airflow_provider_gcp_ops.emulator.create import CreateError, create_operation
from airflow_provider_gcp_ops.emulator.faults import FaultConfigError, FaultPlan, parse_plan
from airflow_provider_gcp_ops.emulator.responses import google_error, json_response
from airflow_provider_gcp_ops.emulator.state import EmulatorState
from airflow_provider_gcp_ops.operations.codes import RpcCode

log = logging.getLogger(__name__)

PREFIX = "/emulator/v1"
_MAX_BODY = 1 << 20

Handler = Callable[[Request], Awaitable[Response]]


class _BadInput(ValueError):
    def __init__(self, message: str, field: str = "", code: RpcCode = RpcCode.INVALID_ARGUMENT) -> None:
        super().__init__(message)
        self.field = field
        self.code = code


class AdminApi:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [
            Route(f"{PREFIX}/operations", self._guard(self.create), methods=["POST"]),
            Route(f"{PREFIX}/stats", self._guard(self.stats), methods=["GET"]),
            Route(f"{PREFIX}/history", self._guard(self.history), methods=["GET"]),
            Route(f"{PREFIX}/faults", self._guard(self.faults), methods=["GET", "PUT", "DELETE"]),
            Route(f"{PREFIX}/config", self._guard(self.config), methods=["GET", "PUT"]),
            Route(f"{PREFIX}/reset", self._guard(self.reset), methods=["POST"]),
            Route(f"{PREFIX}/health", self._guard(self.health), methods=["GET"]),
        ]

    def _guard(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            self.state.stats.requests["admin"] += 1
            try:
                return await handler(request)
            except _BadInput as exc:
                details = [wire.bad_request(exc.field, str(exc))] if exc.field else []
                return google_error(exc.code, str(exc), details)
            except Exception:
                log.exception("emulator: internal error in admin %s %s", request.method, request.url.path)
                return google_error(RpcCode.INTERNAL, "Internal error encountered.")

        return endpoint

    async def create(self, request: Request) -> Response:
        data = await _json(request)
        try:
            op = create_operation(self.state, data)
        except CreateError as exc:
            raise _BadInput(str(exc), exc.field, exc.code) from None
        return json_response(op.as_json(self.state.clock.now()))

    async def stats(self, request: Request) -> Response:
        return json_response(self.state.stats.as_dict(len(self.state.store)))

    async def history(self, request: Request) -> Response:
        name = request.query_params.get("name", "")
        if not name:
            raise _BadInput("the query parameter 'name' is required", "name")
        state = self.state
        report = state.history.report(name, state.store.get(name), state.clock)
        if report is None:
            return google_error(RpcCode.NOT_FOUND, f"No history for operation '{name}'.")
        return json_response(report)

    async def faults(self, request: Request) -> Response:
        state = self.state
        if request.method == "PUT":
            try:
                state.faults = parse_plan(await _json(request), state.seed)
            except FaultConfigError as exc:
                raise _BadInput(str(exc), "rules") from None
        elif request.method == "DELETE":
            state.faults = FaultPlan(seed=state.seed)
        return json_response(state.faults.as_dict())

    async def config(self, request: Request) -> Response:
        if request.method == "PUT":
            try:
                self.state.configure(await _json(request))
            except ConfigError as exc:
                raise _BadInput(str(exc), "config") from None
        return json_response(self.state.config.as_dict())

    async def reset(self, request: Request) -> Response:
        self.state.reset()
        return json_response(b"{}")

    async def health(self, request: Request) -> Response:
        return json_response({"status": "ok", "operations": len(self.state.store)})


async def _json(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > _MAX_BODY:
        raise _BadInput("the request body is too large")
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _BadInput(f"Invalid JSON payload received: {exc}") from None

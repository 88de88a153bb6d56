"""The Google surface: ``google.longrunning.Operations`` over REST for every service of the service table.

    GET    /{ver}/{name}                 GetOperation
    GET    /{ver}/{collection}/operations ListOperations (filter, pageSize, pageToken, returnPartialSuccess)
    DELETE /{ver}/{name}                 DeleteOperation    -> {}
    POST   /{ver}/{name}:cancel          CancelOperation    -> {}
    POST   /{ver}/{name}:wait            WaitOperation      (timeout in the query or the body, per service)

A request addressed to one service, by a ``Host`` header that is one of its hosts or by a first path segment that
is (``/datafusion.googleapis.com/v1/...``, how a client with a base URL reaches one service on the shared port), is
served as that service only: its own URL shapes from the service table (``/dns/v1/...``, ``/storage/v1/b/.../cancel``,
per-collection verbs), and a list returns only that service's operations. A request with a plain path is matched
against every service whose version and name patterns fit.

A request goes through: route parsing (unmapped URL: Google's HTML 404) -> the request quota (429 when
``rate_limit_per_s`` is set, see ``ratelimit.py``) -> fault injection -> auth (401) -> denied project (403) ->
missing verb (501) -> unknown operation (404) -> the verb.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from airflow_provider_gcp_ops.emulator import filters, wire
from airflow_provider_gcp_ops.emulator.catalog import profile_for
from airflow_provider_gcp_ops.emulator.faults import FaultKind, FaultRule
from airflow_provider_gcp_ops.emulator.operation import CancelMode, Operation
from airflow_provider_gcp_ops.emulator.responses import (
    ConnectionResetResponse,
    google_error,
    html_error,
    json_response,
)
from airflow_provider_gcp_ops.emulator.state import EmulatorState
from airflow_provider_gcp_ops.emulator.store import (
    InvalidPageTokenError,
    decode_page_token,
    encode_page_token,
    query_fingerprint,
)
from airflow_provider_gcp_ops.operations.codes import RpcCode
from airflow_provider_gcp_ops.operations.services import ServiceSpec, Verb, WaitStyle, service_for_host, services

log = logging.getLogger(__name__)

_VERSION = re.compile(r"^v\d+(?:(?:alpha|beta)\d*)?$")
_INT = re.compile(r"^-?\d{1,10}$")
_RPC_METHOD = {
    Verb.GET: "GetOperation",
    Verb.LIST: "ListOperations",
    Verb.CANCEL: "CancelOperation",
    Verb.DELETE: "DeleteOperation",
    Verb.WAIT: "WaitOperation",
}
_PERMISSION_VERB = {Verb.GET: "get", Verb.LIST: "list", Verb.CANCEL: "cancel", Verb.DELETE: "delete", Verb.WAIT: "get"}
_AUTH_HELP = (
    "Expected OAuth 2 access token, login cookie or other valid authentication credential. "
    "See https://developers.google.com/identity/sign-in/web/devconsole-project."
)
_EMPTY_JSON = b"{}"
_PLACEHOLDER_ID = "x"


@dataclass(frozen=True)
class Route:
    verb: Verb
    version: str
    name: str  # the operation name, or for LIST the collection
    path: str


def parse_route(method: str, path: str) -> Route | None:
    """The Operations call a request line means, or ``None`` for a URL Google does not map."""
    version, sep, rest = path[1:].partition("/")
    if not sep or not rest or not _VERSION.match(version):
        return None
    if method == "GET" and rest.endswith("/operations"):
        return Route(Verb.LIST, version, rest[: -len("/operations")], path)
    if method == "POST":
        for suffix, verb in ((":cancel", Verb.CANCEL), (":wait", Verb.WAIT)):
            if rest.endswith(suffix):
                return _op_route(verb, version, rest[: -len(suffix)], path)
        return None
    if method in ("GET", "DELETE"):
        return _op_route(Verb.GET if method == "GET" else Verb.DELETE, version, rest, path)
    return None


SERVICE_HOST_SCOPE_KEY = "gcp_ops.service_host"


def strip_service_host(scope: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """``/datafusion.googleapis.com/v1/...`` -> ``/v1/...`` with the host kept in the scope (every route sees a
    plain path; the Operations routes serve it as that service)."""
    first, sep, rest = scope["path"][1:].partition("/")
    if not first.endswith(".googleapis.com"):
        return scope
    return {**scope, "path": "/" + rest if sep else "/", SERVICE_HOST_SCOPE_KEY: first.lower()}


def addressed_service(scope: Mapping[str, Any], host_header: str | None) -> tuple[ServiceSpec | None, bool]:
    """The service a request is addressed to (path segment, else ``Host``), and whether an address was given
    that is no service's host (then Google's 404)."""
    host = scope.get(SERVICE_HOST_SCOPE_KEY) or (host_header or "").rsplit(":", 1)[0].lower()
    if not host.endswith(".googleapis.com"):
        return None, False
    spec = service_for_host(host)
    return spec, spec is None


def parse_service_route(spec: ServiceSpec, method: str, path: str) -> Route | None:
    """The Operations call a request line means for one service, from its URL shapes in the service table."""
    for prefix, version in spec.url_prefixes():
        if not path.startswith(prefix):
            continue
        rest = path[len(prefix) :]
        for coll in spec.collections(version):
            for verb, m in coll.methods.items():
                if m.http != method or "/" + m.prefix != prefix or m.list_shape in ("query", "top"):
                    continue
                if verb is Verb.LIST:
                    if rest.endswith("/operations") and coll.matches_parent(rest[: -len("/operations")]):
                        return Route(verb, version, rest[: -len("/operations")], path)
                    continue
                if m.suffix and not rest.endswith(m.suffix):
                    continue
                name = rest[: len(rest) - len(m.suffix)] if m.suffix else rest
                if coll.method_for(name, verb) is not None:
                    return Route(verb, version, name, path)
    return None


def _op_route(verb: Verb, version: str, name: str, path: str) -> Route | None:
    if "/operations/" not in name or ":" in name.rsplit("/", 1)[-1]:
        return None
    return Route(verb, version, name, path)


def _project_of(name: str) -> str:
    parts = name.split("/", 2)
    return parts[1] if len(parts) > 1 and parts[0] == "projects" else ""


class OperationsApi:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    async def handle(self, request: Request) -> Response:
        state = self.state
        path = request.scope["path"]
        addressed, unknown_host = addressed_service(request.scope, request.headers.get("host"))
        if addressed is not None:
            route = parse_service_route(addressed, request.method, path)
            specs = [addressed] if route is not None else []
        else:
            route = None if unknown_host else parse_route(request.method, path)
            specs = self._candidates(route) if route is not None else []
        if route is None or not specs:
            state.stats.count_request("unknown", None)
            state.stats.count_response(404)
            return html_error(404, request.scope["path"])
        state.stats.begin()
        fault: FaultRule | None = None
        status: int | None = None
        try:
            state.stats.count_request(route.verb.value, None if route.verb is Verb.LIST else route.name)
            response: Response | None = None
            quota_wait = state.rate_limiter.take()
            if quota_wait > 0:  # over the quota: refused before anything else (and before any fault draw)
                state.stats.rate_limited += 1
                response = _quota_exceeded(route, specs[0], None)
            else:
                fault = state.faults.decide(route.verb.value, route.path)
            if fault is not None:
                state.stats.count_fault(fault.kind.value)
                response = await self._fault(fault, route, specs[0])
            if response is None and state.config.latency_s > 0:
                await state.sleep(state.config.latency_s)
            if response is None:
                try:
                    response = await self._serve(route, specs, request)
                except Exception:
                    log.exception("emulator: internal error serving %s %s", request.method, route.path)
                    response = google_error(RpcCode.INTERNAL, "Internal error encountered.")
            if not isinstance(response, ConnectionResetResponse):
                status = response.status_code
                state.stats.count_response(status)
            return response
        finally:
            state.stats.end()
            if route.verb is not Verb.LIST:
                entry = state.history.get(route.name)
                if entry is not None:
                    entry.record_request(
                        route.verb.value,
                        status,
                        time.monotonic(),
                        fault.kind.value if fault is not None else None,
                        request.headers.get("user-agent"),
                    )

    # -- routing ----------------------------------------------------------------------------------------------

    def _candidates(self, route: Route) -> list[ServiceSpec]:
        """The service rows that serve this URL: the operation's own row first, then every row whose version list
        and name patterns fit (one port serves all services, so a generic name fits several)."""
        out: list[ServiceSpec] = []
        if route.verb is not Verb.LIST:
            op = self.state.store.get(route.name)
            if op is not None and route.version in op.spec.versions:
                out.append(op.spec)
        probe = f"{route.name}/operations/{_PLACEHOLDER_ID}" if route.verb is Verb.LIST else route.name
        seen = {s.key for s in out}
        out.extend(s for s in services() if route.version in s.versions and s.key not in seen and s.matches(probe))
        return out

    async def _fault(self, fault: FaultRule, route: Route, spec: ServiceSpec) -> Response | None:
        kind = fault.kind
        if kind is FaultKind.TOO_MANY_REQUESTS:
            return _quota_exceeded(route, spec, fault.retry_after_s)
        if kind is FaultKind.INTERNAL:
            return google_error(RpcCode.INTERNAL, "Internal error encountered.")
        if kind is FaultKind.BAD_GATEWAY:
            return html_error(502)
        if kind is FaultKind.UNAVAILABLE:
            return google_error(RpcCode.UNAVAILABLE, "The service is currently unavailable.")
        if kind is FaultKind.RESET:
            return ConnectionResetResponse()
        await self.state.sleep(fault.latency_s if kind is FaultKind.LATENCY else fault.stall_s)
        return None

    async def _serve(self, route: Route, specs: list[ServiceSpec], request: Request) -> Response:
        state = self.state
        config = state.config
        spec = specs[0]
        if config.auth:
            denied = self._authenticate(request, route, spec)
            if denied is not None:
                return denied
        project = _project_of(route.name)
        if project in config.denied_projects:
            permission = profile_for(spec).permission(_PERMISSION_VERB[route.verb])
            resource = route.name if route.verb is not Verb.LIST else f"{route.name}/operations"
            return google_error(
                RpcCode.PERMISSION_DENIED,
                f"Permission '{permission}' denied on resource '//{spec.host}/{resource}' (or it may not exist).",
                [
                    wire.error_info(
                        "IAM_PERMISSION_DENIED",
                        "iam.googleapis.com",
                        {"permission": permission, "resource": resource},
                    )
                ],
            )
        supporting = [s for s in specs if s.supports(route.verb)]
        if not supporting:
            return google_error(
                RpcCode.UNIMPLEMENTED,
                f"Method not implemented: the {spec.title} API ({spec.host}) does not implement "
                f"google.longrunning.Operations.{_RPC_METHOD[route.verb]}.",
            )
        if route.verb is Verb.LIST:
            return self._list(route, supporting, request)
        op = state.store.get(route.name)
        if op is None or all(s.key != op.spec.key for s in supporting):
            if op is not None and specs[0].key == op.spec.key:
                # The operation's own service lacks the verb (e.g. delete on Dialogflow).
                return google_error(
                    RpcCode.UNIMPLEMENTED,
                    f"Method not implemented: the {op.spec.title} API ({op.spec.host}) does not implement "
                    f"google.longrunning.Operations.{_RPC_METHOD[route.verb]}.",
                )
            return google_error(RpcCode.NOT_FOUND, f"Resource '{route.name}' was not found")
        if route.verb is Verb.GET:
            return json_response(op.as_json(state.clock.now()))
        if route.verb is Verb.DELETE:
            state.store.delete(op.name)
            state.history.deleted(op, state.clock, time.monotonic())
            state.stats.operations_deleted += 1
            return json_response(_EMPTY_JSON)
        if route.verb is Verb.CANCEL:
            return await self._cancel(op, request)
        return await self._wait(op, request)

    def _authenticate(self, request: Request, route: Route, spec: ServiceSpec) -> Response | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        metadata = {"service": spec.host, "method": f"google.longrunning.Operations.{_RPC_METHOD[route.verb]}"}
        if scheme.lower() != "bearer" or not token:
            return google_error(
                RpcCode.UNAUTHENTICATED,
                f"Request is missing required authentication credential. {_AUTH_HELP}",
                [wire.error_info("CREDENTIALS_MISSING", metadata=metadata)],
                {"www-authenticate": 'Bearer realm="https://accounts.google.com/"'},
            )
        if token in self.state.config.rejected_tokens:
            return google_error(
                RpcCode.UNAUTHENTICATED,
                f"Request had invalid authentication credentials. {_AUTH_HELP}",
                [wire.error_info("ACCESS_TOKEN_EXPIRED", metadata=metadata)],
                {"www-authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'},
            )
        return None

    # -- verbs ------------------------------------------------------------------------------------------------

    def _list(self, route: Route, specs: list[ServiceSpec], request: Request) -> Response:
        state = self.state
        config = state.config
        params = request.query_params
        raw_size = params.get("pageSize", params.get("page_size", ""))
        if raw_size == "":
            size = config.default_page_size
        elif not _INT.match(raw_size):
            return _invalid("page_size", f"Invalid value at 'page_size' (TYPE_INT32), \"{raw_size}\"")
        else:
            size = int(raw_size)
            if size < 0:
                return _invalid("page_size", "The page size must not be negative.")
            size = min(size or config.default_page_size, config.max_page_size)
        partial = params.get("returnPartialSuccess", params.get("return_partial_success", "false"))
        if partial.lower() not in ("true", "false", "1", "0"):
            return _invalid(
                "return_partial_success", f"Invalid value at 'return_partial_success' (TYPE_BOOL), \"{partial}\""
            )
        filter_text = params.get("filter", "")
        try:
            predicate = filters.parse(filter_text)
        except filters.FilterError as exc:
            return _invalid("filter", str(exc))
        fingerprint = query_fingerprint(route.version, route.name, filter_text)
        token = params.get("pageToken", params.get("page_token", ""))
        after = 0
        if token:
            try:
                after = decode_page_token(token, fingerprint)
            except InvalidPageTokenError as exc:
                return _invalid("page_token", str(exc))
        now_v = state.clock.now()
        wanted = {s.key for s in specs}

        def accept(op: Operation) -> bool:
            return op.spec.key in wanted and predicate(op.as_dict(now_v))

        page, cursor = state.store.page(route.name, accept, after, size)
        body: dict[str, Any] = {}
        if page:
            body["operations"] = [op.as_dict(now_v) for op in page]
        if cursor is not None:
            body["nextPageToken"] = encode_page_token(cursor, fingerprint)
        return json_response(body)

    async def _cancel(self, op: Operation, request: Request) -> Response:
        state = self.state
        problem = await _empty_body_problem(request)
        if problem is not None:
            return problem
        if op.cancel_mode is CancelMode.UNIMPLEMENTED:
            return google_error(RpcCode.UNIMPLEMENTED, f"Operation '{op.name}' cannot be cancelled.")
        now_v = state.clock.now()
        # Cancelling a finished operation is a no-op that answers 200 {} (documented choice).
        if not op.done(now_v) and op.cancel_requested_v is None:
            op.cancel_requested_v = now_v
            entry = state.history.get(op.name)
            if entry is not None:
                entry.cancel_requested_t = round(time.monotonic() - entry.created_real, 6)
        return json_response(_EMPTY_JSON)

    async def _wait(self, op: Operation, request: Request) -> Response:
        state = self.state
        style = op.spec.wait_style
        raw_body = await request.body()
        body: Any = {}
        if raw_body.strip():
            try:
                body = json.loads(raw_body)
            except ValueError:
                return _invalid("", "Invalid JSON payload received.")
            if not isinstance(body, dict):
                return _invalid("", "Invalid JSON payload received. Expected an object.")
        query_timeout = request.query_params.get("timeout")
        unknown = set(body) - ({"timeout"} if style is WaitStyle.BODY else set())
        if unknown:
            field = sorted(unknown)[0]
            return _invalid(field, f'Invalid JSON payload received. Unknown name "{field}": Cannot find field.')
        if style is WaitStyle.BODY and query_timeout is not None:
            return _invalid(
                "timeout",
                'Invalid JSON payload received. Unknown name "timeout": Cannot bind query parameter. '
                "Field 'timeout' could not be found in request message.",
            )
        raw_timeout = body.get("timeout") if style is WaitStyle.BODY else query_timeout
        cap = state.config.wait_cap_s
        timeout = cap
        if raw_timeout is not None:
            try:
                if not isinstance(raw_timeout, str):
                    raise ValueError(raw_timeout)
                timeout = wire.parse_duration(raw_timeout)
            except ValueError:
                return _invalid(
                    "timeout",
                    f"Invalid value at 'timeout' (type.googleapis.com/google.protobuf.Duration), \"{raw_timeout}\"",
                )
            if timeout < 0:
                return _invalid("timeout", "The timeout must not be negative.")
        deadline = time.monotonic() + min(timeout, cap)
        name = op.name
        while True:
            current = state.store.get(name)
            if current is None:
                return google_error(RpcCode.NOT_FOUND, f"Resource '{name}' was not found")
            now_v = state.clock.now()
            remaining = deadline - time.monotonic()
            if current.done(now_v) or remaining <= 0:
                return json_response(current.as_json(now_v))
            until_done = state.clock.real_seconds_until(current.terminal()[1])
            if not await state.sleep(min(remaining, until_done + 0.001, 0.25)):
                return json_response(current.as_json(state.clock.now()))


def _quota_exceeded(route: Route, spec: ServiceSpec, retry_after_s: float | None) -> Response:
    """429 RESOURCE_EXHAUSTED as Google's quota errors: ErrorInfo RATE_LIMIT_EXCEEDED; with ``retry_after_s``
    (the injected fault's), also RetryInfo and Retry-After. Google's own rate-quota refusals name the quota and
    say nothing of when to come back (the ErrorInfo examples of ``google/api/error_reason.proto``)."""
    host = spec.host
    project = _project_of(route.name)
    details = [
        wire.error_info(
            "RATE_LIMIT_EXCEEDED",
            metadata={
                "service": host,
                "quota_metric": f"{host}/read_requests",
                "quota_limit": "ReadRequestsPerMinutePerProject",
                "quota_location": "global",
                "consumer": f"projects/{project}",
            },
        ),
    ]
    message = (
        "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute' "
        f"of service '{host}' for consumer 'projects/{project}'."
    )
    headers: dict[str, str] = {}
    if retry_after_s is not None:
        details.append(wire.retry_info(retry_after_s))
        headers["retry-after"] = wire.retry_after_header(retry_after_s)
    return google_error(RpcCode.RESOURCE_EXHAUSTED, message, details, headers)


async def _empty_body_problem(request: Request) -> Response | None:
    """CancelOperation carries nothing in its body: accept no body or ``{}`` (whatever the service's cancel_body)."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        body = json.loads(raw)
    except ValueError:
        return _invalid("", "Invalid JSON payload received.")
    if not isinstance(body, dict):
        return _invalid("", "Invalid JSON payload received. Expected an object.")
    if body:
        field = sorted(body)[0]
        return _invalid(field, f'Invalid JSON payload received. Unknown name "{field}": Cannot find field.')
    return None


def _invalid(field: str, message: str) -> Response:
    details = [wire.bad_request(field, message)] if field else []
    return google_error(RpcCode.INVALID_ARGUMENT, message, details)

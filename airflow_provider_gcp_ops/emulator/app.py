"""The ASGI application: the Google routes, the admin routes and the OAuth token endpoint (``oauth.py``), behind
a thin wrapper that exposes the TCP transport (for the ``reset`` fault) and dispatches on the path prefix."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from airflow_provider_gcp_ops.emulator.admin_routes import PREFIX, AdminApi
from airflow_provider_gcp_ops.emulator.google_routes import OperationsApi, strip_service_host
from airflow_provider_gcp_ops.emulator.methods import StartMethods, is_start_method
from airflow_provider_gcp_ops.emulator.oauth import TOKEN_PATH, TokenEndpoint
from airflow_provider_gcp_ops.emulator.responses import TRANSPORT_SCOPE_KEY, google_error
from airflow_provider_gcp_ops.emulator.state import EmulatorState
from airflow_provider_gcp_ops.operations.codes import RpcCode

log = logging.getLogger(__name__)

_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


async def _internal_error(request: Request, exc: Exception) -> Response:
    """Backstop: a bug never takes the server down; it answers 500 INTERNAL in Google's shape and logs."""
    log.error("emulator: unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return google_error(RpcCode.INTERNAL, "Internal error encountered.")


class EmulatorASGI:
    """The application uvicorn serves.

    uvicorn's ``send`` is a bound method of its per-request cycle object, which holds the connection's transport;
    putting the transport in the scope lets a fault reset the connection for real (``ConnectionResetResponse``).
    """

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        handlers = {Exception: _internal_error}
        operations, starts = OperationsApi(state), StartMethods(state)

        async def google(request: Request) -> Response:
            # A POST that is no Operations route is a create-style method returning an Operation (methods.py).
            if is_start_method(request.method, request.scope["path"]):
                return await starts.handle(request)
            return await operations.handle(request)

        self.operations_app = Starlette(
            routes=[Route("/{path:path}", google, methods=_ALL_METHODS)],
            exception_handlers=handlers,
        )
        self.admin_app = Starlette(routes=AdminApi(state).routes(), exception_handlers=handlers)
        self.oauth_app = Starlette(
            routes=[Route(TOKEN_PATH, TokenEndpoint(state).handle, methods=_ALL_METHODS)], exception_handlers=handlers
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            if transport is not None:
                scope[TRANSPORT_SCOPE_KEY] = transport
            if scope["path"].startswith(PREFIX + "/"):
                await self.admin_app(scope, receive, send)
                return
            if scope["path"] == TOKEN_PATH:  # OAuth 2.0 token endpoint (oauth.py)
                await self.oauth_app(scope, receive, send)
                return
            scope = strip_service_host(scope)
        await self.operations_app(scope, receive, send)


def build_app(state: EmulatorState) -> EmulatorASGI:
    return EmulatorASGI(state)

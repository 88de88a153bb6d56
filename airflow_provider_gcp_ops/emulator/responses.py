"""Starlette responses shaped like Google's: JSON bodies with ESF headers, error bodies, HTML pages, and a
"response" that resets the TCP connection instead of answering."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from airflow_provider_gcp_ops.emulator import wire
from airflow_provider_gcp_ops.operations.codes import RpcCode

TRANSPORT_SCOPE_KEY = "gcp_ops_emulator.transport"

log = logging.getLogger(__name__)


def json_response(body: bytes | object, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    content = body if isinstance(body, bytes) else wire.dumps(body)
    merged = dict(wire.GOOGLE_HEADERS)
    if headers:
        merged.update(headers)
    return Response(content, status_code=status, headers=merged, media_type=wire.JSON_MEDIA_TYPE)


def google_error(
    code: RpcCode,
    message: str,
    details: Sequence[Mapping[str, Any]] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    return json_response(wire.error_body(code, message, details), code.http_status, headers)


def html_error(status: int, path: str = "") -> Response:
    return Response(wire.html_error_page(status, path), status_code=status, media_type=wire.HTML_MEDIA_TYPE)


class ConnectionResetResponse(Response):
    """Not a response: abort the TCP connection with a RST (SO_LINGER 0), so the client sees a connection error.

    Needs the transport, which the outer ASGI wrapper (``app.EmulatorASGI``) puts into the scope from uvicorn's
    ``send``. Without it (another server), it falls back to raising, which closes the connection with a 500.
    """

    def __init__(self) -> None:
        super().__init__(b"", status_code=500)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = scope.get(TRANSPORT_SCOPE_KEY)
        if transport is None:
            raise ConnectionAbortedError("emulator fault: reset (transport not reachable)")
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError, AttributeError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        # Let the server notice the disconnect so it does not try to answer on a dead connection.
        with contextlib.suppress(Exception):  # a timeout included: the connection is gone either way
            await asyncio.wait_for(_until_disconnect(receive), timeout=2.0)


async def _until_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return

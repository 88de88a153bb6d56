"""A small misbehaving HTTP/1.1 server on 127.0.0.1 (asyncio, in a thread): one behaviour per mode.

``server.mode`` picks how ``/v1/...`` requests are answered, ``server.token_mode`` how ``/token`` (an OAuth token
endpoint) is. Every request line is recorded, so a test can assert that nothing else was asked for.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import itertools
import json
import socket
import threading
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

PLANTED_TOKEN = "ya29.hostile-planted-secret-token"
IMPERSONATED_TOKEN = "ya29.hostile-impersonated-token"
OK_OPERATION = {"name": "projects/p/regions/us-central1/operations/op", "done": True, "response": {}}

Writer = asyncio.StreamWriter
Behaviour = Callable[[Writer], Awaitable[bool]]  # returns True to keep the connection open for another request
DRIP_S = 0.2  # one byte every DRIP_S: far below any per-read timeout


def _head(status: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status}"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _json(status: str, body: Any, **headers: str) -> bytes:
    data = json.dumps(body).encode()
    return _head(status, {"Content-Type": "application/json", "Content-Length": str(len(data)), **headers}) + data


async def _send(w: Writer, data: bytes) -> None:
    w.write(data)
    await w.drain()


async def ok(w: Writer) -> bool:
    await _send(w, _json("200 OK", OK_OPERATION))
    return True


async def token_ok(w: Writer) -> bool:
    await _send(w, _json("200 OK", {"access_token": PLANTED_TOKEN, "expires_in": 3600, "token_type": "Bearer"}))
    return True


async def impersonation_ok(w: Writer) -> bool:
    # IAM Credentials generateAccessToken's answer.
    await _send(w, _json("200 OK", {"accessToken": IMPERSONATED_TOKEN, "expireTime": "2099-01-01T00:00:00Z"}))
    return True


async def token_error(w: Writer) -> bool:
    # A token endpoint whose error body quotes a secret: it must not reach our errors.
    await _send(w, _json("400 Bad Request", {"error": "invalid_grant", "error_description": PLANTED_TOKEN}))
    return False


async def silent(w: Writer) -> bool:
    await asyncio.sleep(3600)
    return False


async def drip_headers(w: Writer) -> bool:
    for byte in itertools.cycle(b"HTTP/1.1 200 OK\r\nX-Slow: "):
        await _send(w, bytes([byte]) if byte != 13 else b"a")
        await asyncio.sleep(DRIP_S)
    return False  # pragma: no cover


async def drip_body(w: Writer) -> bool:
    await _send(w, _head("200 OK", {"Content-Type": "application/json", "Content-Length": "1000000"}) + b'{"a":"')
    while True:
        await _send(w, b"x")
        await asyncio.sleep(DRIP_S)


async def continue_forever(w: Writer) -> bool:
    while True:
        await _send(w, b"HTTP/1.1 100 Continue\r\n\r\n")
        await asyncio.sleep(DRIP_S / 2)


async def huge_body(w: Writer) -> bool:
    size = 300 * 1024 * 1024
    await _send(w, _head("200 OK", {"Content-Type": "application/json", "Content-Length": str(size)}))
    chunk = b" " * (1024 * 1024)
    for _ in range(size // len(chunk)):
        await _send(w, chunk)
    return False


@functools.cache
def gzip_bomb_bytes() -> bytes:
    """~200 KB of gzip that inflates to 200 MB of spaces (built once, streamed so it costs little memory)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b" " * (1024 * 1024)
    return b"".join([comp.compress(block) for _ in range(200)]) + comp.flush()


async def gzip_bomb(w: Writer) -> bool:
    body = gzip_bomb_bytes()
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip", "Content-Length": str(len(body))}
    await _send(w, _head("200 OK", headers) + body)
    return True


async def bad_gzip(w: Writer) -> bool:
    body = b"\x1f\x8b\x08\x00garbage-not-deflate" * 4
    headers = {"Content-Encoding": "gzip", "Content-Length": str(len(body))}
    await _send(w, _head("200 OK", headers) + body)
    return True


async def truncated_gzip(w: Writer) -> bool:
    body = gzip.compress(json.dumps(OK_OPERATION).encode())[:-12]
    headers = {"Content-Encoding": "gzip", "Content-Length": str(len(body))}
    await _send(w, _head("200 OK", headers) + body)
    return True


async def bad_chunked(w: Writer) -> bool:
    await _send(w, _head("200 OK", {"Transfer-Encoding": "chunked"}) + b"zz\r\n{}\r\n0\r\n\r\n")
    return False


async def short_body(w: Writer) -> bool:
    await _send(w, _head("200 OK", {"Content-Length": "100"}) + b'{"name": ')
    return False


async def deep_json(w: Writer) -> bool:
    body = b"[" * 200_000
    await _send(w, _head("200 OK", {"Content-Type": "application/json", "Content-Length": str(len(body))}) + body)
    return True


async def deep_json_error(w: Writer) -> bool:
    body = b'{"error": ' + b"[" * 200_000
    await _send(w, _head("500 Internal", {"Content-Length": str(len(body))}) + body)
    return True


async def superscript_code(w: Writer) -> bool:
    await _send(w, _json("500 Internal", {"error": {"code": "\u00b2", "message": "m", "status": "\u00b2"}}))
    return True


async def long_code(w: Writer) -> bool:
    body = b'{"error": {"code": ' + b"9" * 5000 + b', "message": "m", "status": "' + b"9" * 5000 + b'"}}'
    await _send(w, _head("500 Internal", {"Content-Length": str(len(body))}) + body)
    return True


async def huge_retry_after(w: Writer) -> bool:
    await _send(w, _json("503 Unavailable", {"error": {"code": 503, "message": "later"}}, **{"Retry-After": "9" * 400}))
    return True


async def huge_retry_info(w: Writer) -> bool:
    detail = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "9" * 400 + "s"}
    await _send(w, _json("503 Unavailable", {"error": {"code": 503, "message": "m", "details": [detail]}}))
    return True


async def long_header(w: Writer) -> bool:
    await _send(w, _head("200 OK", {"X-Long": "a" * 200_000, "Content-Length": "2"}) + b"{}")
    return False


async def many_headers(w: Writer) -> bool:
    headers = {f"X-H{i}": "v" for i in range(5000)}
    await _send(w, _head("200 OK", {**headers, "Content-Length": "2"}) + b"{}")
    return False


_COUNTER = itertools.count()


async def endless_pages(w: Writer) -> bool:
    await _send(w, _json("200 OK", {"operations": [], "nextPageToken": f"t{next(_COUNTER)}"}))
    return True


async def repeated_token(w: Writer) -> bool:
    await _send(w, _json("200 OK", {"operations": [], "nextPageToken": "same"}))
    return True


BEHAVIOURS: dict[str, Behaviour] = {
    f.__name__: f
    for f in (
        ok,
        token_ok,
        impersonation_ok,
        token_error,
        silent,
        drip_headers,
        drip_body,
        continue_forever,
        huge_body,
        gzip_bomb,
        bad_gzip,
        truncated_gzip,
        bad_chunked,
        short_body,
        deep_json,
        deep_json_error,
        superscript_code,
        long_code,
        huge_retry_after,
        huge_retry_info,
        long_header,
        many_headers,
        endless_pages,
        repeated_token,
    )
}


class HostileServer:
    def __init__(self) -> None:
        self.mode = "ok"
        self.token_mode = "token_ok"
        self.requests: list[str] = []  # "METHOD path" of every request received
        self._loop = asyncio.new_event_loop()
        self._tasks: set[asyncio.Task[None]] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, name="hostile-server", daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def token_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def start(self) -> HostileServer:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(5)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _start(self) -> asyncio.base_events.Server:
        return await asyncio.start_server(self._accept, "127.0.0.1", 0)

    def stop(self) -> None:
        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: Writer) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            keep = True
            while keep:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target = lines[0].split(" ")[:2]
                self.requests.append(f"{method} {target.split('?')[0]}")
                fields = (line.partition(":") for line in lines[1:])
                length = next((int(v) for k, _, v in fields if k.lower() == "content-length"), 0)
                if length:
                    await reader.readexactly(length)
                mode = self.token_mode if target.startswith("/token") else self.mode
                keep = await BEHAVIOURS[mode](writer)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, asyncio.CancelledError):
            pass  # the client went away, or the server stops (a cancelled handler ends quietly)
        finally:
            writer.close()
            self._tasks.discard(task)


def never_accepting_listener() -> tuple[socket.socket, list[socket.socket]]:
    """A listening socket whose backlog is full: a new connection's handshake never completes."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    for _ in range(3):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex(listener.getsockname())
        fillers.append(s)
    return listener, fillers

"""``EmulatorServer``: the emulator served by uvicorn on a background thread (or in the foreground for the CLI)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import uvicorn

from airflow_provider_gcp_ops.emulator.admin_client import EmulatorAdmin
from airflow_provider_gcp_ops.emulator.app import build_app
from airflow_provider_gcp_ops.emulator.faults import FaultPlan, parse_plan
from airflow_provider_gcp_ops.emulator.state import EmulatorState

ENV_VAR = "GCP_OPERATIONS_EMULATOR_HOST"
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0

log = logging.getLogger(__name__)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    if importlib.util.find_spec("uvloop") is not None:
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
        return factory
    return asyncio.new_event_loop


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class EmulatorServer:
    """The Operations emulator on ``host:port`` (``port=0``: an ephemeral port, read back after binding).

    ``start()`` binds, starts uvicorn on a daemon thread and returns once it accepts requests; ``stop()`` wakes
    every sleeping handler, shuts uvicorn down and joins the thread. Also a context manager.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        auth: bool = True,
        time_scale: float = 1.0,
        seed: int = 0,
        faults: Any = None,
        log_level: str = "warning",
    ) -> None:
        if not time_scale > 0:
            raise ValueError("time_scale must be > 0")
        self._bind_host = host
        self._bind_port = port
        self._auth = auth
        self._time_scale = time_scale
        self._seed = seed
        self._faults: FaultPlan | None = parse_plan(faults, seed) if faults is not None else None
        self._log_level = log_level
        self._sock: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._admin: EmulatorAdmin | None = None
        self._port = 0
        self.state: EmulatorState | None = None

    # -- addresses ------------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("the emulator is not started")
        return self._port

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``: the value for the ``GCP_OPERATIONS_EMULATOR_HOST`` environment variable."""
        host = f"[{self._bind_host}]" if ":" in self._bind_host else self._bind_host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def admin(self) -> EmulatorAdmin:
        if self._admin is None:
            raise RuntimeError("the emulator is not started")
        return self._admin

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- lifecycle ------------------------------------------------------------------------------------------

    def _prepare(self, *, own_logging: bool) -> tuple[uvicorn.Server, socket.socket]:
        self.state = EmulatorState(auth=self._auth, time_scale=self._time_scale, seed=self._seed, faults=self._faults)
        sock = _bind(self._bind_host, self._bind_port)
        self._sock = sock
        self._port = sock.getsockname()[1]
        # In a host process (tests), leave its logging configuration alone; the CLI uses uvicorn's.
        log_config = uvicorn.config.LOGGING_CONFIG if own_logging else None
        config = uvicorn.Config(
            build_app(self.state),
            log_level=self._log_level,
            log_config=log_config,
            access_log=False,
            lifespan="off",
            proxy_headers=False,
            server_header=False,
            timeout_keep_alive=30,
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        self._server = server
        return server, sock

    async def _serve(self, server: uvicorn.Server, sock: socket.socket) -> None:
        self._loop = asyncio.get_running_loop()
        await server.serve(sockets=[sock])

    def _run_thread(self, server: uvicorn.Server, sock: socket.socket) -> None:
        loop = _loop_factory()()
        try:
            loop.run_until_complete(self._serve(server, sock))
        except BaseException as exc:  # reported by start() / stop()
            self._error = exc
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def start(self) -> EmulatorServer:
        if self.running:
            return self
        self._error = None
        server, sock = self._prepare(own_logging=False)
        self._thread = threading.Thread(
            target=self._run_thread, args=(server, sock), name=f"gcp-ops-emulator-{self._port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the emulator did not start: {self._error!r}")
            time.sleep(0.005)
        self._admin = EmulatorAdmin(self.url)
        return self

    def stop(self) -> None:
        server, thread, loop, state = self._server, self._thread, self._loop, self.state
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if server is not None and thread is not None:
            if loop is not None and state is not None and not loop.is_closed():
                with contextlib.suppress(RuntimeError):  # the loop may close between the check and the call
                    loop.call_soon_threadsafe(state.request_stop)
            server.should_exit = True
            thread.join(STOP_TIMEOUT_S / 2)
            if thread.is_alive():
                server.force_exit = True
                thread.join(STOP_TIMEOUT_S / 2)
            if thread.is_alive():
                log.error("emulator thread %s did not stop", thread.name)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._loop = None
        self._sock = None

    def serve_forever(self, on_started: Callable[[EmulatorServer], None] | None = None) -> None:
        """Run in the calling (main) thread until SIGINT/SIGTERM: uvicorn installs the signal handlers."""
        server, sock = self._prepare(own_logging=True)

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            task = asyncio.ensure_future(server.serve(sockets=[sock]))
            while not server.started and not task.done():  # uvicorn offers no start event to wait on
                await asyncio.wait({task}, timeout=0.01)
            if server.started and on_started is not None:
                on_started(self)
            while not task.done():  # a signal sets should_exit: wake sleeping handlers so shutdown is quick
                if server.should_exit and self.state is not None and not self.state.stopping:
                    self.state.request_stop()
                await asyncio.wait({task}, timeout=0.1)
            await task

        loop = _loop_factory()()
        try:
            loop.run_until_complete(main())
        finally:
            loop.close()
            sock.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._port else "not started"
        return f"EmulatorServer({where})"

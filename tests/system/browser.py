"""Headless Chromium driven over the DevTools protocol: enough to open Airflow's UI and look at a page.

Debian's ``chromium`` (``scripts/ensure_chromium.sh`` installs it). One browser per :class:`Browser`, in its own
process group with a throw-away profile, bound to 127.0.0.1; :meth:`close` ends the group. Commands go over the
page's WebSocket (https://chromedevtools.github.io/devtools-protocol/): ``Network.setCookie``, ``Page.navigate``,
``Runtime.evaluate``, ``Page.captureScreenshot``. Every call has a timeout.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

from .harness import free_port, wait_for


def chromium() -> str | None:
    return shutil.which("chromium")


class Browser:
    def __init__(self, width: int = 1400, height: int = 1000) -> None:
        binary = chromium()
        if binary is None:
            raise RuntimeError("chromium is not installed: run scripts/ensure_chromium.sh")
        self.port = free_port()
        self.profile = Path(tempfile.mkdtemp(prefix="gcp-ops-chromium-"))
        args = [
            binary,
            "--headless",
            "--no-sandbox",  # root in a container: the sandbox needs user namespaces
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            "--remote-debugging-address=127.0.0.1",
            f"--remote-debugging-port={self.port}",
            f"--user-data-dir={self.profile}",
            f"--window-size={width},{height}",
            "about:blank",
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self._id = 0
        self._stack = contextlib.ExitStack()
        self.ws: ClientConnection = self._stack.enter_context(
            connect(self._page_ws(), open_timeout=10, max_size=64 * 1024 * 1024)
        )

    def _page_ws(self) -> str:
        def probe() -> str | None:
            pages = httpx.get(f"http://127.0.0.1:{self.port}/json/list", timeout=2, trust_env=False).json()
            return next((p["webSocketDebuggerUrl"] for p in pages if p.get("type") == "page"), None)

        return str(wait_for("chromium's DevTools endpoint", probe, timeout=30, interval=0.2))

    def call(self, method: str, timeout: float = 30, **params: Any) -> dict[str, Any]:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    def set_cookie(self, name: str, value: str, url: str) -> None:
        self.call("Network.enable")
        self.call("Network.setCookie", name=name, value=value, url=url, path="/", httpOnly=True)

    def open(self, url: str) -> None:
        self.call("Page.enable")
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png", timeout=60)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self._stack.close()
        finally:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

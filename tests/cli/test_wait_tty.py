"""``gcp-operations wait`` on a pseudo-terminal: the live progress line, and Ctrl-C (the terminal's ^C → SIGINT)."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import signal
import time

import pytest

from airflow_provider_gcp_ops.cli.main import ExitCode
from airflow_provider_gcp_ops.emulator import EmulatorServer

from .test_cli import base_env, command

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """The CLI as the foreground process of a new pseudo-terminal (``pty.fork``: it is the controlling tty)."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        env = {**env, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "40"}
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child
            try:
                os.execve(args[0], args, env)
            finally:
                os._exit(127)
        self.raw = b""
        self.status: int | None = None

    @property
    def text(self) -> str:
        return self.raw.decode(errors="replace")

    def read_until(self, pattern: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, ANSI.sub("", self.text)):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {pattern!r} on the terminal within {timeout} s; got:\n{self.text[-3000:]}")
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.5))
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:  # EIO: the child closed the terminal
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"the terminal closed before {pattern!r}; got:\n{self.text[-3000:]}")
                self.raw += chunk
        return self.text

    def type(self, data: bytes) -> None:
        os.write(self.fd, data)

    def wait(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with_output = select.select([self.fd], [], [], 0.2)[0]
            if with_output:
                with contextlib.suppress(OSError):
                    self.raw += os.read(self.fd, 65536)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                return self.status
        raise AssertionError(f"the CLI did not exit within {timeout} s; got:\n{self.text[-3000:]}")

    def close(self) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        os.close(self.fd)


@pytest.fixture
def spanner_op(gcp_ops_emulator: EmulatorServer) -> tuple[EmulatorServer, str]:
    emu = gcp_ops_emulator
    op = emu.admin.create_operation("spanner", duration_s=600, metadata={"progress": {"progressPercent": 37}})
    return emu, op["name"]


def start(emu: EmulatorServer, *args: str) -> Terminal:
    return Terminal([*command(), *args], base_env(emu))


def test_live_progress_then_ctrl_c_asks_and_cancels(spanner_op: tuple[EmulatorServer, str]) -> None:
    emu, name = spanner_op
    term = start(emu, "wait", name)
    try:
        # The live line: state, elapsed time ticking, the operation's own progress, redrawn in place.
        term.read_until(r"running\s+elapsed 0s\s+37%")
        term.read_until(r"running\s+elapsed [12]s\s+37%", timeout=10)
        assert "\x1b[" in term.text  # rich redraws the line with cursor control on a terminal
        assert emu.admin.stats()["cancels"]["total"] == 0
        term.type(b"\x03")  # Ctrl-C, through the terminal's line discipline: SIGINT to the foreground process
        term.read_until(r"Cancel operation .*\? \[y/N\]")
        term.type(b"y\r")
        term.read_until("cancel requested")
        code = term.wait()
    finally:
        term.close()
    assert code == ExitCode.CANCELLED, term.text[-2000:]
    assert emu.admin.stats()["cancels"]["by_operation"] == {name: 1}
    assert emu.admin.history(name)["state"] == "CANCELLED"
    assert re.search(r"state\s+cancelled", ANSI.sub("", term.text))


def test_ctrl_c_answered_no_leaves_it_running(spanner_op: tuple[EmulatorServer, str]) -> None:
    emu, name = spanner_op
    term = start(emu, "wait", name)
    try:
        term.read_until(r"running\s+elapsed \d+s\s+37%")
        term.type(b"\x03")
        term.read_until(r"\[y/N\]")
        term.type(b"n\r")
        code = term.wait()
    finally:
        term.close()
    assert code == ExitCode.INTERRUPTED
    assert "left running" in term.text
    assert emu.admin.stats()["cancels"]["total"] == 0


def test_cancel_on_interrupt_does_not_ask(spanner_op: tuple[EmulatorServer, str]) -> None:
    emu, name = spanner_op
    term = start(emu, "wait", name, "--cancel-on-interrupt", "--format", "json")
    try:
        term.read_until(r"running\s+elapsed \d+s\s+37%")
        term.type(b"\x03")
        code = term.wait()
    finally:
        term.close()
    assert code == ExitCode.CANCELLED
    assert "[y/N]" not in term.text
    assert emu.admin.stats()["cancels"]["by_operation"] == {name: 1}

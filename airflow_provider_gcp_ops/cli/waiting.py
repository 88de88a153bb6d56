"""``gcp-operations wait``: poll until done with live progress; Ctrl-C asks whether to cancel.

On a terminal (stderr is a TTY) one line redraws in place four times a second: state, elapsed time, the
operation's own progress (:func:`~airflow_provider_gcp_ops.operations.progress.progress_of`), polls. Otherwise a
plain line is printed whenever the state or the progress changes, and at least once a minute.

Polls follow the library's :class:`~airflow_provider_gcp_ops.operations.polling.PollSchedule` (short at first,
then a tenth of the operation's age, capped); every GET has the client's timeouts and retries.

Ctrl-C: with ``--cancel-on-interrupt`` the operation is cancelled at once; otherwise, when stdin is a terminal,
the question "cancel it?" is asked (no answer, EOF or a second Ctrl-C: no). After a cancel the wait goes on until
the operation ends (a second Ctrl-C then leaves it). Without a cancel the command exits 130, the operation runs on.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from typing import Any

from airflow_provider_gcp_ops.cli import output
from airflow_provider_gcp_ops.operations.errors import WaitTimeout
from airflow_provider_gcp_ops.operations.model import Operation
from airflow_provider_gcp_ops.operations.names import OperationRef
from airflow_provider_gcp_ops.operations.progress import progress_of

TICK_S = 0.25
PLAIN_HEARTBEAT_S = 60.0
_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class Waiter:
    def __init__(
        self,
        client: Any,
        ref: OperationRef,
        *,
        timeout: float | None,
        cancel_on_interrupt: bool,
        asked: bool = False,
        tty: bool | None = None,
    ) -> None:
        self.client = client
        self.ref = ref
        self.timeout = timeout
        self.cancel_on_interrupt = cancel_on_interrupt
        self.cancel_sent = asked
        self.tty = sys.stderr.isatty() if tty is None else tty
        self.op: Operation | None = None
        self.polls = 0
        self.next_poll_at = 0.0
        self.started = time.monotonic()
        self._last_plain: tuple[str, float] = ("", 0.0)
        self._live: Any = None

    # -- the loop ---------------------------------------------------------------------------------------------
    def run(self) -> Operation:
        deadline = None if self.timeout is None else self.started + self.timeout
        while True:
            try:
                with self._display():
                    return self._poll(deadline)
            except KeyboardInterrupt:
                if self.cancel_sent or not self._wants_cancel():
                    output.note(f"left running: {self.ref.name}" if not self._done else "interrupted")
                    raise
                self.client.cancel(self.ref)
                self.cancel_sent = True
                self.next_poll_at = 0.0
                output.note(f"cancel requested: {self.ref.name}; waiting for it to end (Ctrl-C again to stop waiting)")

    @property
    def _done(self) -> bool:
        return self.op is not None and self.op.done

    def _poll(self, deadline: float | None) -> Operation:
        while True:
            now = time.monotonic()
            if now >= self.next_poll_at:
                self.op = self.client.get(self.ref)
                if self.op.done:
                    self._show(final=True)
                    return self.op
                age = self._age()
                remaining = None if deadline is None else deadline - time.monotonic()
                delay = self.client.poll.next_delay(polls_so_far=self.polls, age_s=age, remaining_s=remaining)
                self.polls += 1
                self.next_poll_at = time.monotonic() + delay
            if deadline is not None and time.monotonic() >= deadline:
                self._show(final=True)
                raise WaitTimeout(f"operation {self.ref.name!r} was still running at the --timeout", operation=self.op)
            self._show()
            time.sleep(max(0.0, min(TICK_S, self.next_poll_at - time.monotonic())))

    def _age(self) -> float:
        start = self.op.start_time() if self.op is not None else None
        if start is not None:
            return max(0.0, float(self.client.wall_clock()) - start.timestamp())
        return time.monotonic() - self.started

    # -- Ctrl-C -----------------------------------------------------------------------------------------------
    def _wants_cancel(self) -> bool:
        if self._done:
            return False
        if self.cancel_on_interrupt:
            return True
        if not sys.stdin.isatty():
            output.note("stdin is not a terminal: not asking; use --cancel-on-interrupt to cancel on Ctrl-C")
            return False
        try:
            sys.stderr.write(f"\nCancel operation {self.ref.name}? [y/N] ")
            sys.stderr.flush()
            answer = sys.stdin.readline()
        except KeyboardInterrupt:
            return False
        return answer.strip().lower() in ("y", "yes")

    # -- display ----------------------------------------------------------------------------------------------
    def status_line(self) -> str:
        elapsed = output.age(time.monotonic() - self.started)
        state = "waiting" if self.op is None else self.op.state.value
        parts = [state, f"elapsed {elapsed}"]
        if self.op is not None:
            progress = progress_of(self.op).describe()
            if progress:
                parts.append(progress)
        if self.cancel_sent and not self._done:
            parts.append("cancel requested")
        parts.append(f"polls {self.polls}")
        return "  ".join(parts) + f"  {self.ref.name}"

    @contextlib.contextmanager
    def _display(self) -> Iterator[None]:
        if not self.tty:
            yield
            return
        from rich.live import Live

        with Live(console=output.err(), auto_refresh=False, transient=False) as live:
            self._live = live
            try:
                yield
            finally:
                self._live = None

    def _show(self, final: bool = False) -> None:
        line = self.status_line()
        if self._live is not None:
            from rich.text import Text

            spin = "✓" if final else _SPINNER[int(time.monotonic() / TICK_S) % len(_SPINNER)]
            self._live.update(Text(f"{spin} {line}"), refresh=True)
            return
        key = "|".join(
            (
                "waiting" if self.op is None else self.op.state.value,
                progress_of(self.op).describe() if self.op is not None else "",
                str(self.cancel_sent),
            )
        )
        last_key, last_at = self._last_plain
        now = time.monotonic()
        if final or key != last_key or now - last_at >= PLAIN_HEARTBEAT_S:
            self._last_plain = (key, now)
            output.note(line)

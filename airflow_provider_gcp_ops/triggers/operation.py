"""``OperationTrigger``: waits in the triggerer until an operation is done or the task's deadline comes.

Kill paths (Airflow itself never calls an operator's ``on_kill`` while the task is deferred):

- Airflow >= 3.3: a user marks the deferred task failed / success or clears it ⇒ the triggerer cancels
  ``run()`` with the message ``__airflow_user_action__`` and calls :meth:`on_kill`, which cancels the remote
  operation (when ``cancel_on_kill``).
- Airflow 3.0-3.2: no ``on_kill``; the only signal is ``asyncio.CancelledError`` in ``run()``, which also fires
  when the triggerer restarts. So we cancel only when the task instance is no longer DEFERRED (a restart leaves
  it DEFERRED and must never cancel anything), skip the 3.3 user-action message (``on_kill`` handles it), and
  always re-raise ``CancelledError``.
- ``execution_timeout`` / a sensor's ``timeout`` are not enforced while deferred: the task passes an absolute
  ``deadline`` (epoch seconds); at it we yield a ``timeout`` event, and ``execute_complete`` cancels and fails.

Never a blocking call on the event loop: HTTP through the shared async pool, connection lookup with
``aget_connection``, credentials built in a worker thread, the task-state lookup in a worker thread.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_gcp_ops.hooks.credentials import CredentialsConfigError
from airflow_provider_gcp_ops.hooks.operations import GoogleOperationsHook
from airflow_provider_gcp_ops.operations.client_base import QUICK_CANCEL_RETRY, QUICK_CANCEL_TIMEOUTS
from airflow_provider_gcp_ops.operations.errors import OperationsError, WaitTimeout
from airflow_provider_gcp_ops.operations.polling import PollSchedule
from airflow_provider_gcp_ops.operations.retry import RetryPolicy
from airflow_provider_gcp_ops.triggers.events import OperationEvent

USER_ACTION_CANCEL_MSG = "__airflow_user_action__"  # airflow.jobs.triggerer_job_runner._USER_ACTION_CANCEL_MSG
DEFERRED = "deferred"
XCOM_OPERATION = "gcp_operation"  # links.console.XCOM_KEY: every try of our tasks pushes {"name": ...} before deferring
# A lookup through the triggerer's supervisor is never answered while the triggerer shuts down: without a bound
# the cancelled trigger would hang there until the supervisor escalates to SIGKILL (seen: 20 s per restart).
LOOKUP_TIMEOUT_S = 5.0


def _passed(mono_deadline: float | None) -> bool:
    return mono_deadline is not None and time.monotonic() >= mono_deadline


class OperationTrigger(BaseTrigger):
    """Poll one operation until it is done, a non-transient error, or ``deadline`` (epoch seconds).

    Transient errors (429, 5xx, resets, timeouts) are retried inside the deadline; without a deadline for at
    most ``max_outage_s`` in a row. Yields exactly one :class:`OperationEvent` and returns.
    """

    def __init__(
        self,
        *,
        operation_name: str,
        service: str,
        api_version: str,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        deadline: float | None = None,
        poll_interval: float = 10.0,
        poll_max: float = 60.0,
        cancel_on_kill: bool = True,
        max_outage_s: float = 1800.0,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.operation_name = operation_name
        self.service = service
        self.api_version = api_version
        self.gcp_conn_id = gcp_conn_id
        self.impersonation_chain = (
            list(impersonation_chain) if isinstance(impersonation_chain, (list, tuple)) else impersonation_chain
        )
        self.deadline = deadline
        self.poll_interval = poll_interval
        self.poll_max = poll_max
        self.cancel_on_kill = cancel_on_kill
        self.max_outage_s = max_outage_s

    def serialize(self) -> tuple[str, dict[str, Any]]:
        # Only JSON values, never credentials: the connection id is resolved again in the triggerer.
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "operation_name": self.operation_name,
                "service": self.service,
                "api_version": self.api_version,
                "gcp_conn_id": self.gcp_conn_id,
                "impersonation_chain": self.impersonation_chain,
                "deadline": self.deadline,
                "poll_interval": self.poll_interval,
                "poll_max": self.poll_max,
                "cancel_on_kill": self.cancel_on_kill,
                "max_outage_s": self.max_outage_s,
            },
        )

    def _hook(self, **kw: Any) -> GoogleOperationsHook:
        return GoogleOperationsHook(gcp_conn_id=self.gcp_conn_id, impersonation_chain=self.impersonation_chain, **kw)

    def _event(self, status: str, message: str, **kw: Any) -> OperationEvent:
        return OperationEvent(
            status=status,
            name=self.operation_name,
            service=self.service,
            api_version=self.api_version,
            message=message,
            **kw,
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            event = await self._watch()
        except asyncio.CancelledError as exc:
            await self._on_cancelled(exc)
            raise
        except Exception as exc:  # a bad connection, a library bug: an error event, never a trigger that dies mute
            # Our own errors' texts are safe (no key, no token); anyone else's may quote key material: name only.
            own = isinstance(exc, OperationsError | CredentialsConfigError)
            message = str(exc) if own else f"{type(exc).__name__} while watching the operation"
            event = self._event("error", message, error_type=type(exc).__name__)
        yield TriggerEvent(event.to_payload())

    async def _watch(self) -> OperationEvent:
        mono_deadline = None if self.deadline is None else time.monotonic() + (self.deadline - time.time())
        hook = self._hook(poll=PollSchedule(initial=self.poll_interval, maximum=max(self.poll_interval, self.poll_max)))
        outage_since: float | None = None
        async with hook.async_client() as client:
            while True:
                try:
                    # No server-side :wait here: thousands of triggers holding a connection each would starve
                    # the shared pool. Short GETs on a growing schedule instead.
                    op = await client.wait(
                        self.operation_name,
                        service=self.service,
                        api_version=self.api_version,
                        deadline=mono_deadline,
                        use_server_wait=False,
                    )
                except WaitTimeout as exc:
                    last = None if exc.operation is None else exc.operation.summary()
                    return self._event("timeout", "the task's deadline passed while the operation ran", operation=last)
                except OperationsError as exc:
                    if client.retry.is_retryable(exc) and _passed(mono_deadline):
                        # The deadline came during a transient outage: that is a timeout (the task cancels and
                        # fails as for any timeout), not an error that would skip the cancel.
                        return self._event("timeout", f"the task's deadline passed during a transient error: {exc}")
                    if not self._keep_trying(exc, client.retry, mono_deadline, outage_since):
                        return self._event("error", str(exc), error_type=type(exc).__name__)
                    outage_since = outage_since or time.monotonic()
                    self.log.warning("Transient error while polling %s, retrying: %s", self.operation_name, exc)
                    await asyncio.sleep(self._pause(mono_deadline))
                    continue
                return self._event("done", f"operation finished: {op.state.value}", operation=op.summary())

    def _keep_trying(
        self, exc: OperationsError, policy: RetryPolicy, mono_deadline: float | None, outage_since: float | None
    ) -> bool:
        if not policy.is_retryable(exc):
            return False
        now = time.monotonic()
        if mono_deadline is not None:
            return now < mono_deadline
        return outage_since is None or now - outage_since < self.max_outage_s

    def _pause(self, mono_deadline: float | None) -> float:
        pause = self.poll_max
        if mono_deadline is not None:
            pause = max(0.0, min(pause, mono_deadline - time.monotonic()))
        return pause

    # -- kill paths ------------------------------------------------------------------------------------------
    async def on_kill(self) -> None:
        """Airflow >= 3.3: the user marked the deferred task failed / success or cleared it."""
        if self.cancel_on_kill:
            await self.cancel_remote("the deferred task was killed by a user action")

    async def _on_cancelled(self, exc: asyncio.CancelledError) -> None:
        """Airflow 3.0-3.2's only kill signal; also a triggerer restart, which must never cancel."""
        if not self.cancel_on_kill:
            return
        if exc.args and exc.args[0] == USER_ACTION_CANCEL_MSG:
            return  # Airflow >= 3.3 calls on_kill() for this one
        state = await self.task_state()
        if state == DEFERRED and await self._rerun_watches_another_operation():
            # Cleared, re-run and deferred again (on a new operation) before this trigger was stopped: about 1 s
            # on Airflow 3.2, shorter than the triggerer's reconciliation, so the state alone reads "deferred".
            await self.cancel_remote("the task was cleared and its new try waits for another operation")
            return
        if state is None or state == DEFERRED:
            self.log.info(
                "Trigger for %s stopped (task state %s): not cancelling the operation", self.operation_name, state
            )
            return
        await self.cancel_remote(f"the task left the deferred state ({state}) while the trigger waited")

    async def _rerun_watches_another_operation(self) -> bool:
        """Whether the task's current try recorded a different operation than this trigger's (unknown: False)."""
        ti = self.task_instance
        if ti is None:
            return False
        try:
            from airflow.sdk.execution_time.xcom import XCom
            from asgiref.sync import sync_to_async

            current = await asyncio.wait_for(
                sync_to_async(XCom.get_one)(
                    key=XCOM_OPERATION, dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id, map_index=ti.map_index
                ),
                timeout=LOOKUP_TIMEOUT_S,
            )
        except Exception as exc:  # unknown is never a cancel
            self.log.warning("Could not look up the operation of task %s: %s", ti.task_id, exc)
            return False
        name = current.get("name") if isinstance(current, dict) else None
        return isinstance(name, str) and name != self.operation_name

    async def task_state(self) -> str | None:
        """The task instance's current state, or ``None`` when it cannot be known (then nothing is cancelled)."""
        ti = self.task_instance
        if ti is None:
            return None
        try:
            from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
            from asgiref.sync import sync_to_async

            states = await asyncio.wait_for(
                sync_to_async(RuntimeTaskInstance.get_task_states)(
                    dag_id=ti.dag_id, task_ids=[ti.task_id], run_ids=[ti.run_id], map_index=ti.map_index
                ),
                timeout=LOOKUP_TIMEOUT_S,
            )
        except Exception as exc:  # the lookup failing (or timing out) must never turn into a cancel
            self.log.warning("Could not look up the state of task %s: %s", ti.task_id, exc)
            return None
        state = states.get(ti.run_id, {}).get(ti.task_id)
        return None if state is None else str(getattr(state, "value", state)).lower()

    async def cancel_remote(self, why: str) -> bool:
        """One quick, best-effort cancel. Logs a warning on failure; never raises (but CancelledError)."""
        self.log.info("Cancelling operation %s: %s", self.operation_name, why)
        try:
            hook = self._hook(timeouts=QUICK_CANCEL_TIMEOUTS, retry=QUICK_CANCEL_RETRY)
            async with hook.async_client() as client:
                await client.cancel(self.operation_name, service=self.service, api_version=self.api_version)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.log.warning("Could not cancel operation %s: %s", self.operation_name, exc)
            return False
        return True


__all__ = ["OperationTrigger"]

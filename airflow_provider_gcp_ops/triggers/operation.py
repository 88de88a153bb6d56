"""``OperationTrigger``: waits in the triggerer until an operation is done or the task's deadline comes.

Kill paths (Airflow itself never calls an operator's ``on_kill`` while the task is deferred):

- Airflow >= 3.3: a user marks the deferred task failed / success or clears it ⇒ the triggerer cancels
  ``run()`` with the message ``__airflow_user_action__`` and calls :meth:`on_kill`, which cancels the remote
  operation (when ``cancel_on_kill``), unless another triggerer merely took the trigger over (3.3 sends the same
  message then).
- Before Airflow 3.3: no ``on_kill``; the only signal is ``asyncio.CancelledError`` in ``run()``, which also
  fires when the triggerer restarts. We look the task instance's state up (its mapped key for a mapped task) and
  cancel only when it is *known* and not DEFERRED (a cleared task has no state: that counts; a restart leaves it
  DEFERRED; a failed look-up is unknown: never a cancel). ``CancelledError`` is always re-raised.
- Both rule sets are in :mod:`.kill_rules`.
- Anything unexpected in the wait becomes an ``error`` event (the trigger never dies silently); the resumed
  task cancels an owned operation, then fails.
- ``execution_timeout`` / a sensor's ``timeout`` are not enforced while deferred: the task passes an absolute
  ``deadline`` (epoch seconds); at it we yield a ``timeout`` event, and ``execute_complete`` cancels and fails.

Never a blocking call on the event loop: HTTP through the shared async pool, connection lookup with
``aget_connection``, credentials built in a worker thread, the task-state lookup in a worker thread. The triggers
of one connection on the loop share the look-up (once per TTL) and the credentials (one token, one refresh):
see :mod:`airflow_provider_gcp_ops.hooks.loop_shared`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_gcp_ops.hooks.credentials import CredentialsConfigError
from airflow_provider_gcp_ops.hooks.operations import GoogleOperationsHook

# Every try of our tasks pushes {"name": ...} under this key before deferring (the links read it too).
from airflow_provider_gcp_ops.links.console import XCOM_KEY as XCOM_OPERATION
from airflow_provider_gcp_ops.operations.client_base import (
    QUICK_CANCEL_RETRY,
    QUICK_CANCEL_TIMEOUT_S,
    QUICK_CANCEL_TIMEOUTS,
)
from airflow_provider_gcp_ops.operations.errors import OperationsError, WaitTimeout
from airflow_provider_gcp_ops.operations.polling import PollSchedule
from airflow_provider_gcp_ops.triggers.events import OperationEvent
from airflow_provider_gcp_ops.triggers.kill_rules import (
    UNKNOWN,
    USER_ACTION_CANCEL_MSG,
    TaskState,
    decide_on_kill,
    decide_on_stop,
    needs_rerun_check,
    state_key,
)

# A lookup through the triggerer's supervisor is never answered while the triggerer shuts down: without a bound
# the cancelled trigger would hang there until the supervisor escalates to SIGKILL (seen: 20 s per restart).
LOOKUP_TIMEOUT_S = 5.0

# Every sleep between two polls ends on a multiple of this (on the monotonic clock): later than the schedule by
# less than 100 ms and less than 1 % of the sleep (plans.on_grid). The triggers that would wake within one such
# slot wake in one turn of the loop and send their GETs together, which costs the triggerer less CPU per poll
# than a wake-up per trigger (bench/triggerer_scale.py).
WAKE_GRID_S = 0.1


class OperationTrigger(BaseTrigger):
    """Poll one operation until it is done, a non-transient error, or ``deadline`` (epoch seconds).

    Transient errors (429, 5xx, resets, timeouts, a token endpoint that is down) are ridden out inside the
    deadline; without a deadline for at most ``max_outage_s`` in a row since the last successful poll. Yields
    exactly one :class:`OperationEvent` and returns; an unexpected exception becomes an ``error`` event too (on
    which the resumed task cancels an operation it owns, then fails).
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
        except Exception as exc:
            # Anything unexpected (a bad connection, a bug) must not kill the trigger without an event: the task
            # would fail with its operation still running. It becomes an ``error`` event like any failed wait, and
            # the task, resumed, sends the one cancel of an owned operation and fails (execute_complete): one place
            # cancels, never twice. Our own errors' texts are safe (no key, no token); anyone else's may quote key
            # material: name only its class.
            own = isinstance(exc, OperationsError | CredentialsConfigError)
            message = str(exc) if own else f"{type(exc).__name__} while watching the operation"
            self.log.error("Unexpected error while watching %s: %s", self.operation_name, message)
            event = self._event("error", message, error_type=type(exc).__name__)
        yield TriggerEvent(event.to_payload())

    async def _watch(self) -> OperationEvent:
        mono_deadline = None if self.deadline is None else time.monotonic() + (self.deadline - time.time())
        schedule = PollSchedule(initial=self.poll_interval, maximum=max(self.poll_interval, self.poll_max))
        # The client alone, not the hook nor a context-manager generator: what a waiting trigger keeps alive is
        # walked by every full garbage collection, thousands of times over in a triggerer.
        async with await self._hook(poll=schedule).aclient() as client:
            try:
                # No server-side :wait here: thousands of triggers holding a connection each would starve the
                # shared pool. Short GETs on a growing schedule instead. Outages are ridden out by the wait plan
                # (the same rules as a wait in a worker): until the deadline, or for max_outage_s without one.
                op = await client.wait(
                    self.operation_name,
                    service=self.service,
                    api_version=self.api_version,
                    deadline=mono_deadline,
                    use_server_wait=False,
                    max_outage_s=self.max_outage_s,
                    wake_grid_s=WAKE_GRID_S,
                )
            except WaitTimeout as exc:
                last = None if exc.operation is None else exc.operation.summary()
                return self._event("timeout", f"the task's deadline passed: {exc}", operation=last)
            except OperationsError as exc:
                return self._event("error", str(exc), error_type=type(exc).__name__)
        return self._event("done", f"operation finished: {op.state.value}", operation=op.summary())

    # -- kill paths ------------------------------------------------------------------------------------------
    async def on_kill(self) -> None:
        """Airflow >= 3.3: a user marked the deferred task failed / success or cleared it, or another triggerer
        took the trigger over. The rules: :func:`.kill_rules.decide_on_kill`."""
        if not self.cancel_on_kill:
            return
        state = await self.task_state()
        rerun = needs_rerun_check(state) and await self._rerun_watches_another_operation()
        decision = decide_on_kill(
            cancel_on_kill=self.cancel_on_kill,
            state=state,
            rerun_watches_another=rerun,
            past_deadline=self.deadline is not None and time.time() >= self.deadline,
        )
        if decision.cancel:
            await self.cancel_remote(decision.reason)
        else:
            self.log.info(
                "Trigger for %s killed: not cancelling the operation (%s)", self.operation_name, decision.reason
            )

    async def _on_cancelled(self, exc: asyncio.CancelledError) -> None:
        """The only kill signal before Airflow 3.3; also a triggerer restart. The rules: :mod:`.kill_rules`."""
        user_action = bool(exc.args) and exc.args[0] == USER_ACTION_CANCEL_MSG
        state: TaskState = UNKNOWN
        rerun = False
        if self.cancel_on_kill and not user_action:
            state = await self.task_state()
            if needs_rerun_check(state):
                rerun = await self._rerun_watches_another_operation()
        decision = decide_on_stop(
            cancel_on_kill=self.cancel_on_kill, user_action=user_action, state=state, rerun_watches_another=rerun
        )
        if decision.cancel:
            await self.cancel_remote(decision.reason)
        else:
            self.log.info(
                "Trigger for %s stopped: not cancelling the operation (%s)", self.operation_name, decision.reason
            )

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

    async def task_state(self) -> TaskState:
        """The task instance's state as Airflow reports it (lower case; ``None``: it has none, e.g. cleared), or
        :data:`~.kill_rules.UNKNOWN` when it cannot be looked up (then nothing is cancelled)."""
        ti = self.task_instance
        if ti is None:
            return UNKNOWN
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
            return UNKNOWN
        run = states.get(ti.run_id) if isinstance(states, dict) else None
        key = state_key(ti.task_id, ti.map_index)
        if not isinstance(run, dict) or key not in run:
            # The answer does not name this task instance: nothing is known about it.
            self.log.warning("The task-states answer has no entry %r for run %s", key, ti.run_id)
            return UNKNOWN
        state = run[key]
        return None if state is None else str(getattr(state, "value", state)).lower()

    async def cancel_remote(self, why: str) -> bool:
        """One quick, best-effort cancel. Logs a warning on failure; never raises (but CancelledError)."""
        self.log.info("Cancelling operation %s: %s", self.operation_name, why)
        try:
            hook = self._hook(timeouts=QUICK_CANCEL_TIMEOUTS, retry=QUICK_CANCEL_RETRY)
            async with hook.async_client() as client:
                await client.cancel(
                    self.operation_name,
                    service=self.service,
                    api_version=self.api_version,
                    timeout=QUICK_CANCEL_TIMEOUT_S,
                )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.log.warning("Could not cancel operation %s: %s", self.operation_name, exc)
            return False
        return True


__all__ = ["USER_ACTION_CANCEL_MSG", "OperationTrigger"]

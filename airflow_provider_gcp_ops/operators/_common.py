"""What the operators and the sensor share: parameters, the task's deadline, the one quick cancel, events.

Import cost matters here: DAG processors import operator modules on every parse. This module imports only
``airflow.sdk`` (already loaded by any DAG file) and the standard library at module level; the hook, the
trigger, the HTTP stacks and even the pure library are imported inside the methods that use them.

Deadline math (why the numbers are what they are):

- Airflow enforces ``execution_timeout`` only while a task runs on a worker (SIGALRM, then ``on_kill``). While
  the task is deferred nothing enforces it, so we compute an absolute deadline ourselves,
  ``ti.start_date + min(timeout, execution_timeout)``, hand it to the trigger, and on the trigger's ``timeout``
  event ``execute_complete`` cancels and fails. ``ti.start_date`` survives deferral (the execution API keeps
  it when a task resumes), so the same deadline is recomputed identically on resume.
- In the worker, when ``execution_timeout`` is the earlier bound, our own wait ends ``WORKER_GRACE_S`` *after*
  it: Airflow's alarm fires first and ``on_kill`` sends the cancel, so exactly one path owns that case. When
  our ``timeout`` is earlier, our wait ends at it and we cancel ourselves.
- Without either bound a wait still has one: ``DEFAULT_MAX_WAIT_S`` (7 days, Airflow's default sensor timeout).
- ``defer(timeout=...)`` is set ``DEFER_BACKSTOP_S`` beyond the deadline: it fires only if the trigger failed
  to yield its own ``timeout`` event, and then (framework behaviour) nothing is cancelled.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_gcp_ops._compat import conf
from airflow_provider_gcp_ops.links.console import XCOM_KEY as XCOM_OPERATION

if TYPE_CHECKING:
    from airflow_provider_gcp_ops.hooks.operations import GoogleOperationsHook
    from airflow_provider_gcp_ops.operations.model import Operation
    from airflow_provider_gcp_ops.operations.names import OperationRef
    from airflow_provider_gcp_ops.operations.polling import PollSchedule
    from airflow_provider_gcp_ops.triggers.events import OperationEvent
    from airflow_provider_gcp_ops.triggers.operation import OperationTrigger

DEFAULT_POLL_INTERVAL_S = 5.0
MAX_POLL_INTERVAL_S = 60.0
DEFAULT_MAX_WAIT_S = 7 * 24 * 3600.0
WORKER_GRACE_S = 5.0
DEFER_BACKSTOP_S = 60.0
XCOM_OPERATION_NAME = "operation_name"


def default_deferrable() -> bool:
    """``[operators] default_deferrable``, read when the task is built (as Airflow's own operators do)."""
    return bool(conf.getboolean("operators", "default_deferrable", fallback=False))


def seconds(value: float | timedelta | None, what: str) -> float | None:
    """A ``timedelta`` or a number of seconds as seconds (``None`` stays ``None``); negative is an error."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{what} must be a non-negative number of seconds or a timedelta, got {value!r}")
    return float(value)


def choice(value: str, allowed: Sequence[str], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value


@dataclass(frozen=True)
class Deadline:
    """An absolute deadline (epoch seconds) and which bound set it: ``timeout``, ``execution_timeout``, ``default``."""

    at: float
    bound: str
    limit_s: float

    def remaining(self, now: float | None = None) -> float:
        return max(0.0, self.at - (time.time() if now is None else now))

    def worker_remaining(self, now: float | None = None) -> float:
        """The wait in a worker: past an ``execution_timeout`` bound by a grace, so Airflow's alarm comes first."""
        extra = WORKER_GRACE_S if self.bound == "execution_timeout" else 0.0
        return self.remaining(now) + extra

    def describe(self) -> str:
        return f"{self.bound} of {self.limit_s:g} s"


def task_start(context: Mapping[str, Any]) -> datetime:
    """When this task instance started (kept across deferral); now when unknown (e.g. a bare ``execute`` call)."""
    ti = context.get("ti")
    start = getattr(ti, "start_date", None)
    if isinstance(start, datetime):
        return start if start.tzinfo else start.replace(tzinfo=timezone.utc)
    return datetime.now(timezone.utc)


def task_deadline(
    context: Mapping[str, Any], *, timeout_s: float | None, execution_timeout: timedelta | None
) -> Deadline:
    """``start + min(timeout, execution_timeout)``, or ``start + DEFAULT_MAX_WAIT_S`` when neither is set."""
    start = task_start(context).timestamp()
    bounds: list[tuple[float, str]] = []
    if timeout_s is not None:
        bounds.append((timeout_s, "timeout"))
    if execution_timeout is not None:
        bounds.append((execution_timeout.total_seconds(), "execution_timeout"))
    if not bounds:
        bounds.append((DEFAULT_MAX_WAIT_S, "default"))
    limit, bound = min(bounds)  # on a tie "execution_timeout" sorts first: Airflow's own bound owns the case
    return Deadline(at=start + limit, bound=bound, limit_s=limit)


def deadline_error(deadline: Deadline, message: str, *, sensor: bool = False) -> BaseException:
    """The failure of a wait that reached the task's deadline (the one place that picks its type).

    ``AirflowTaskTimeout`` when ``execution_timeout`` was the earlier bound (what Airflow's own alarm raises);
    else ``AirflowSensorTimeout`` for a sensor (``soft_fail`` turns it into a skip, as for any sensor timeout),
    ``AirflowException`` for an operator (retries apply).
    """
    from airflow_provider_gcp_ops._compat import AirflowException, AirflowSensorTimeout, AirflowTaskTimeout

    if deadline.bound == "execution_timeout":
        return AirflowTaskTimeout(message)
    return AirflowSensorTimeout(message) if sensor else AirflowException(message)


class OperationTask:
    """What the operators and the sensor share; mixed in before ``BaseOperator`` / ``BaseSensorOperator``.

    Its ``__init__`` takes the shared parameters and sets the per-task state itself, cooperatively (keywords it
    does not know go on to Airflow's class), so no subclass can leave the state unset. A mixin rather than a
    ``BaseOperator`` subclass because the sensor must derive from ``BaseSensorOperator``; it holds no Airflow
    class of its own, so Airflow's metaclass (``BaseOperatorMeta`` in ``airflow/sdk/bases/operator.py``) wraps
    only the concrete classes' ``__init__``, whose signatures keep naming every parameter (``default_args``
    apply to them as before).

    State kept on the instance: ``_ref`` (the operation this task knows, set as soon as it is known, so
    ``on_kill`` can act on it), ``_target`` (the target resource recorded for the link, if any) and
    ``_cancel_sent`` (at most one cancel per task instance, whichever path sends it: ``on_kill``, a timeout,
    ``execute_complete``; Airflow calls ``on_kill`` again after our own ``AirflowTaskTimeout``, and this flag
    makes that a no-op). ``hook``: one per task instance, built on first use.
    """

    # A deep copy of a task (mapped tasks, ``dag.test``) shares a hook already built instead of copying its session.
    shallow_copy_attrs: Sequence[str] = ("hook",)

    if TYPE_CHECKING:  # provided by BaseOperator
        from logging import Logger

        log: Logger
        task_id: str
        execution_timeout: timedelta | None

    def __init__(
        self,
        *,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        cancel_on_kill: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.gcp_conn_id = gcp_conn_id
        self.impersonation_chain = impersonation_chain
        self.cancel_on_kill = cancel_on_kill
        self._ref: OperationRef | None = None
        self._target: str | None = None
        self._cancel_sent = False

    # -- names and the hook ----------------------------------------------------------------------------------
    @staticmethod
    def resolve(value: str, *, service: str | None, api_version: str | None) -> OperationRef:
        """Validate an operation name in any of its three forms before any network call.

        Raises :class:`~airflow_provider_gcp_ops.operations.errors.InvalidOperationNameError` (typed, names the
        problem, quotes the input with any query string redacted).
        """
        from airflow_provider_gcp_ops.operations.names import resolve_operation

        return resolve_operation(value, service=service or None, api_version=api_version or None)

    def poll_schedule(self) -> PollSchedule | None:
        """The schedule of this task's waits: from its ``poll_interval`` when it has one (grows to 60 s)."""
        interval = getattr(self, "poll_interval", None)
        if interval is None:
            return None
        from airflow_provider_gcp_ops.operations.polling import PollSchedule

        return PollSchedule(initial=interval, maximum=max(interval, MAX_POLL_INTERVAL_S))

    @cached_property
    def hook(self) -> GoogleOperationsHook:
        """The task's one hook (and so one client): every call of this task instance goes through it."""
        from airflow_provider_gcp_ops.hooks.operations import GoogleOperationsHook

        return GoogleOperationsHook(
            gcp_conn_id=self.gcp_conn_id, impersonation_chain=self.impersonation_chain, poll=self.poll_schedule()
        )

    def remember(self, context: Mapping[str, Any], ref: OperationRef, op: Operation | None = None) -> None:
        """Record the operation: for ``on_kill`` and for the console links (an XCom the links read).

        With ``op`` (the operation as this task saw it), also the resource its metadata names, when the console
        has a page for it: the "Target resource" link then needs no request. Pushed again only when that adds
        something.
        """
        target = None
        if op is not None and op.metadata is not None:
            from airflow_provider_gcp_ops.operations.targets import needs_metadata, target_resource

            if needs_metadata(ref.name, ref.service):
                target = target_resource(ref.name, ref.service, op.metadata)
        if ref == self._ref and (target is None or target == self._target):
            return
        self._ref = ref
        self._target = target
        value = {"name": ref.name, "service": ref.service, "api_version": ref.api_version}
        if target is not None:
            value["target"] = target
        ti = context.get("ti")
        if ti is not None:
            ti.xcom_push(key=XCOM_OPERATION, value=value)

    # -- the one quick cancel ----------------------------------------------------------------------------------
    def cancel_once(self, why: str, ref: OperationRef | None = None) -> bool:
        """Send one cancel for ``ref`` (default: the remembered operation), unless this task already sent one.

        Best effort and quick: 5 s connect / 10 s read, at most two attempts, the whole call within 15 s, a warning
        on failure, never a wait for the outcome. Returns whether the server accepted the request.
        """
        target = ref or self._ref
        if target is None:
            self.log.warning("Not cancelling (%s): the operation's name is not known yet", why)
            return False
        if self._cancel_sent:
            self.log.info("Not cancelling %s again (%s): this task already sent its cancel", target.name, why)
            return False
        self._cancel_sent = True  # set first: a second path (an alarm mid-request) must not send another
        self.log.warning("Cancelling operation %s: %s", target.name, why)
        try:
            self.hook.quick_cancel(target)
        except Exception as exc:
            self.log.warning("Could not cancel operation %s: %s", target.name, exc)
            return False
        return True

    def cancel_failed_wait(self, what: str, ref: OperationRef | None = None) -> None:
        """A wait for an owned operation failed (an error, not a deadline): cancel it before the task fails."""
        if self.cancel_on_kill:
            self.cancel_once(f"the wait failed ({what}); the task fails", ref)
        else:
            self.log.info(
                "cancel_on_kill is False: leaving operation %s running", getattr(ref or self._ref, "name", None)
            )

    def kill_cancel(self) -> None:
        """``on_kill`` body: one quick cancel of the known operation when ``cancel_on_kill``; never raises."""
        if not self.cancel_on_kill:
            self.log.info("cancel_on_kill is False: leaving operation %s running", getattr(self._ref, "name", None))
            return
        self.cancel_once("the task was killed (execution_timeout, SIGTERM or marked failed/success on a worker)")

    # -- deferral ----------------------------------------------------------------------------------------------
    def trigger(
        self, ref: OperationRef, deadline: Deadline, *, poll_interval: float, cancel_on_kill: bool
    ) -> OperationTrigger:
        from airflow_provider_gcp_ops.triggers.operation import OperationTrigger

        return OperationTrigger(
            operation_name=ref.name,
            service=ref.service,
            api_version=ref.api_version,
            gcp_conn_id=self.gcp_conn_id,
            impersonation_chain=self.impersonation_chain,
            deadline=deadline.at,
            poll_interval=poll_interval,
            poll_max=max(poll_interval, MAX_POLL_INTERVAL_S),
            cancel_on_kill=cancel_on_kill,
        )

    @staticmethod
    def defer_timeout(deadline: Deadline) -> timedelta:
        """The framework backstop: a little beyond our own deadline (see the module docstring)."""
        return timedelta(seconds=deadline.remaining() + DEFER_BACKSTOP_S)

    def parse_event(self, event: object, expected: OperationRef | None) -> tuple[OperationEvent, OperationRef]:
        """Validate a trigger event; fail the task with a clear message when it is not ours.

        ``dags test`` replaces ``defer()``'s kwargs with ``{"event": ...}``, so everything needed is in the event;
        its name is validated again like user input, and must be the operation this task expects, if it knows one.
        """
        from airflow_provider_gcp_ops._compat import AirflowFailException
        from airflow_provider_gcp_ops.operations.errors import InvalidOperationNameError
        from airflow_provider_gcp_ops.triggers.events import MalformedEventError, OperationEvent

        try:
            parsed = OperationEvent.from_payload(event)
            ref = self.resolve(parsed.name, service=parsed.service, api_version=parsed.api_version)
        except (MalformedEventError, InvalidOperationNameError) as exc:
            raise AirflowFailException(f"Task {self.task_id} resumed with an invalid trigger event: {exc}") from exc
        if expected is not None and (ref.name, ref.service) != (expected.name, expected.service):
            raise AirflowFailException(
                f"Task {self.task_id} resumed with an event for operation {ref.name!r} ({ref.service}), "
                f"but it watches {expected.name!r} ({expected.service})"
            )
        self._ref = ref
        return parsed, ref


def result_summary(ref: OperationRef, summary: Mapping[str, Any] | None, **extra: Any) -> dict[str, Any]:
    """The JSON-safe XCom value: the operation summary plus where it lives, plus ``extra`` fields."""
    out: dict[str, Any] = {
        "name": ref.name,
        "service": ref.service,
        "api_version": ref.api_version,
        "state": None,
        "done": None,
        "error_code": None,
        "error_status": None,
        "error_message": None,
    }
    if summary is not None:
        out.update({k: summary.get(k) for k in ("done", "state", "error_code", "error_status", "error_message")})
        out["metadata_type"] = summary.get("metadata_type")
        out["start_time"] = summary.get("start_time")
    out.update(extra)
    return out


def describe_error(summary: Mapping[str, Any]) -> str:
    """``"FAILED_PRECONDITION (code 9): message"`` from a summary, or ``"no error details"``."""
    code = summary.get("error_code")
    if code is None:
        return "no error details"
    status = summary.get("error_status") or f"CODE_{code}"
    message = summary.get("error_message") or ""
    return f"{status} (code {code}): {message}".rstrip(": ")

"""``CancelOperationOperator``: cancel a long-running operation and report what really happened.

A 200 from ``:cancel`` proves nothing (Google: cancellation is best effort; the operation may finish anyway).
Only a later ``done`` operation says how it ended, so by default the operator waits for that and classifies.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_gcp_ops.links.console import OperationLogsLink, TargetResourceLink
from airflow_provider_gcp_ops.operators._common import (
    DEFAULT_POLL_INTERVAL_S,
    Deadline,
    OperationTask,
    choice,
    deadline_error,
    default_deferrable,
    describe_error,
    result_summary,
    seconds,
    task_deadline,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_gcp_ops.operations.names import OperationRef

__all__ = ["OUTCOMES", "CancelOperationOperator"]

OUTCOMES = ("cancelled", "finished_anyway", "already_done", "unimplemented", "cancel_requested")


class CancelOperationOperator(OperationTask, BaseOperator):  # type: ignore[misc]
    """Cancel a Google Cloud long-running operation, wait until it is done, and classify the outcome.

    First a GET: an operation already done is not cancelled (``already_done``). Then one ``:cancel``. Then,
    with ``wait_for_completion``, a wait (in the worker, or deferred to the triggerer) until the operation is
    done, and the outcome:

    - ``cancelled``: it ended with rpc code 1 (CANCELLED). The task succeeds.
    - ``finished_anyway``: it succeeded or failed before the cancel took effect (``on_finished_anyway``).
    - ``already_done``: it was done before we asked; no cancel was sent (``on_already_done``).
    - ``unimplemented``: the service cannot cancel (the service table says so, no request sent; or the server
      answered 501 UNIMPLEMENTED) (``on_unimplemented``).
    - ``cancel_requested``: ``wait_for_completion=False``; the cancel was accepted, nothing more is known.

    The return value (XCom ``return_value``) is a JSON-safe dict: ``name``, ``service``, ``api_version``,
    ``state`` (``running`` / ``succeeded`` / ``failed`` / ``cancelled``), ``done``, ``error_code`` (rpc code),
    ``error_status``, ``error_message``, ``metadata_type``, ``start_time``, ``outcome``.

    :param operation_name: the operation: a relative name (``projects/p/regions/r/operations/id``), a full
        resource name (``//dataproc.googleapis.com/projects/...``) or a REST URL. Validated before any call.
        Templated.
    :param service: service key of the service table (``dataproc``, ``aiplatform``, ...); needed when the name
        alone is ambiguous (most ``projects/*/locations/*/operations/*`` names). Templated.
    :param api_version: API version (default: the URL's, else the service's first). Templated.
    :param gcp_conn_id: Airflow connection (``google_cloud_default``: a missing connection means ADC).
    :param impersonation_chain: service account to impersonate, or a chain (last one the target). Templated.
    :param wait_for_completion: wait until the operation is done and classify (default ``True``).
    :param timeout: how long to wait for the cancel to take effect (default 1 hour; ``None``: only
        ``execution_timeout``, else 7 days). Measured from the task's start.
    :param deferrable: wait in the triggerer (default ``[operators] default_deferrable``).
    :param poll_interval: seconds between polls at first (grows with the operation's age, at most 60 s).
    :param cancel_on_kill: if the task is killed before it sent its cancel, send it then (one quick call).
        It never sends a second cancel. ``False``: never cancel from ``on_kill``.
    :param on_finished_anyway: ``"fail"`` (default) or ``"warn"`` (log and succeed).
    :param on_unimplemented: ``"fail"`` (default), ``"warn"`` (log and succeed) or ``"skip"``.
    :param on_already_done: ``"succeed"`` (default) or ``"fail"``.
    """

    template_fields: Sequence[str] = ("operation_name", "service", "api_version", "gcp_conn_id", "impersonation_chain")
    operator_extra_links = (OperationLogsLink(), TargetResourceLink())
    ui_color = "#f4cccc"

    def __init__(
        self,
        *,
        operation_name: str,
        service: str | None = None,
        api_version: str | None = None,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        wait_for_completion: bool = True,
        timeout: float | timedelta | None = timedelta(hours=1),
        deferrable: bool | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL_S,
        cancel_on_kill: bool = True,
        on_finished_anyway: str = "fail",
        on_unimplemented: str = "fail",
        on_already_done: str = "succeed",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            gcp_conn_id=gcp_conn_id, impersonation_chain=impersonation_chain, cancel_on_kill=cancel_on_kill, **kwargs
        )
        self.operation_name = operation_name
        self.service = service
        self.api_version = api_version
        self.wait_for_completion = wait_for_completion
        self.timeout = seconds(timeout, "timeout")
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.poll_interval = seconds(poll_interval, "poll_interval") or DEFAULT_POLL_INTERVAL_S
        self.on_finished_anyway = choice(on_finished_anyway, ("fail", "warn"), "on_finished_anyway")
        self.on_unimplemented = choice(on_unimplemented, ("fail", "warn", "skip"), "on_unimplemented")
        self.on_already_done = choice(on_already_done, ("succeed", "fail"), "on_already_done")

    # -- execution -------------------------------------------------------------------------------------------
    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_gcp_ops.operations.errors import FailedPrecondition, Unimplemented, WaitTimeout
        from airflow_provider_gcp_ops.operations.services import Verb

        ref = self.resolve(self.operation_name, service=self.service, api_version=self.api_version)
        self.remember(context, ref)
        op = self.hook.get_operation(ref)
        self.remember(context, ref, op)
        if op.done:
            return self._already_done(ref, op.summary())
        if not ref.supports(Verb.CANCEL):
            return self._unimplemented(ref, op.summary(), f"{ref.spec.title} has no cancel verb (no request was sent)")
        self._cancel_sent = True
        try:
            self.hook.cancel_operation(ref)
        except Unimplemented as exc:
            return self._unimplemented(ref, op.summary(), str(exc))
        except FailedPrecondition:
            # Some services refuse to cancel an operation that finished between our GET and the cancel.
            op = self.hook.get_operation(ref)
            if not op.done:
                raise
            return self._classify(ref, op.summary())
        self.log.info("Cancel requested for operation %s", ref.name)
        if not self.wait_for_completion:
            return result_summary(ref, op.summary(), outcome="cancel_requested")

        deadline = task_deadline(context, timeout_s=self.timeout, execution_timeout=self.execution_timeout)
        if self.deferrable:
            self.defer(
                # The cancel is sent: the trigger must never send another one (cancel_on_kill=False).
                trigger=self.trigger(ref, deadline, poll_interval=self.poll_interval, cancel_on_kill=False),
                method_name="execute_complete",
                timeout=self.defer_timeout(deadline),
            )
        try:
            op = self.hook.wait_for_operation(ref, timeout=deadline.worker_remaining())
        except WaitTimeout as exc:
            raise self._still_running(ref, deadline, exc.operation.summary() if exc.operation else None) from None
        return self._classify(ref, op.summary())

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger: validate the event, then classify as in the worker."""
        from airflow_provider_gcp_ops._compat import AirflowException

        expected = self.resolve(self.operation_name, service=self.service, api_version=self.api_version)
        parsed, ref = self.parse_event(event, expected)
        self._cancel_sent = True  # execute() sent it before deferring
        if parsed.status == "done":
            assert parsed.operation is not None  # guaranteed by OperationEvent.from_payload
            return self._classify(ref, parsed.operation)
        if parsed.status == "timeout":
            deadline = task_deadline(context, timeout_s=self.timeout, execution_timeout=self.execution_timeout)
            raise self._still_running(ref, deadline, parsed.operation)
        raise AirflowException(
            f"Waiting for cancelled operation {ref.name} failed: {parsed.error_type}: {parsed.message}"
        )

    def on_kill(self) -> None:
        self.kill_cancel()

    # -- outcomes --------------------------------------------------------------------------------------------
    def _classify(self, ref: OperationRef, summary: Any) -> dict[str, Any]:
        from airflow_provider_gcp_ops._compat import AirflowFailException

        state = summary.get("state")
        if state == "cancelled":
            self.log.info("Operation %s was cancelled", ref.name)
            return result_summary(ref, summary, outcome="cancelled")
        message = f"Operation {ref.name} finished ({state}) before the cancel took effect" + (
            f"; error: {describe_error(summary)}" if state == "failed" else ""
        )
        if self.on_finished_anyway == "fail":
            raise AirflowFailException(message + " (on_finished_anyway='fail')")
        self.log.warning("%s", message)
        return result_summary(ref, summary, outcome="finished_anyway")

    def _already_done(self, ref: OperationRef, summary: Any) -> dict[str, Any]:
        from airflow_provider_gcp_ops._compat import AirflowFailException

        message = f"Operation {ref.name} was already done ({summary.get('state')}) before the cancel; none was sent"
        if self.on_already_done == "fail":
            raise AirflowFailException(message + " (on_already_done='fail')")
        self.log.info("%s", message)
        return result_summary(ref, summary, outcome="already_done")

    def _unimplemented(self, ref: OperationRef, summary: Any, detail: str) -> dict[str, Any]:
        from airflow_provider_gcp_ops._compat import AirflowFailException, AirflowSkipException

        message = f"Operation {ref.name} cannot be cancelled: {detail}"
        if self.on_unimplemented == "fail":
            raise AirflowFailException(message + " (on_unimplemented='fail')")
        if self.on_unimplemented == "skip":
            raise AirflowSkipException(message)
        self.log.warning("%s", message)
        return result_summary(ref, summary, outcome="unimplemented")

    def _still_running(self, ref: OperationRef, deadline: Deadline, summary: Any) -> BaseException:
        message = (
            f"Operation {ref.name} was still running at the task's deadline ({deadline.describe()}) "
            "although a cancel was requested"
        )
        return deadline_error(deadline, message)

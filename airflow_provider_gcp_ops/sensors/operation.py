"""``OperationSensor``: wait until a long-running operation is done (or succeeded, or cancelled)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.bases.sensor import PokeReturnValue

from airflow_provider_gcp_ops.links.console import OperationLogsLink, TargetResourceLink
from airflow_provider_gcp_ops.operators._common import (
    OperationTask,
    choice,
    deadline_error,
    default_deferrable,
    describe_error,
    result_summary,
    task_deadline,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_gcp_ops.operations.names import OperationRef

__all__ = ["TARGETS", "OperationSensor"]

TARGETS = ("done", "succeeded", "cancelled")


class OperationSensor(OperationTask, BaseSensorOperator):  # type: ignore[misc]
    """Wait until a Google Cloud long-running operation reaches ``target``.

    ``target``: ``"succeeded"`` (default; done without error), ``"cancelled"`` (done with rpc code 1) or
    ``"done"`` (finished in any way). An operation that ends otherwise fails the task (no retries: a finished
    operation never changes) with its error code and message, unless ``fail_on_mismatch=False``, which makes
    the sensor succeed with ``matched: False`` in its result.

    Modes: ``poke`` and ``reschedule`` (``BaseSensorOperator``: ``poke_interval``, ``timeout``, ``soft_fail``,
    ``exponential_backoff``, ``max_wait``), or ``deferrable=True``: one check in the worker, then the wait runs in
    the triggerer until ``ti.start_date + min(timeout, execution_timeout)``; at that deadline the trigger reports a
    timeout and the sensor fails with ``AirflowSensorTimeout`` (``AirflowTaskTimeout`` when ``execution_timeout``
    was the earlier bound), or is skipped with ``soft_fail``.

    Cancel-on-kill (``cancel_on_kill=True``, the default) treats the watched operation as owned by this task:
    when the sensor times out (any mode) or is killed on a worker (``execution_timeout``, SIGTERM, marked
    failed), one quick cancel is sent. **Set ``cancel_on_kill=False`` to watch an operation someone else owns.**

    The return value (XCom ``return_value``) is a JSON-safe dict: ``name``, ``service``, ``api_version``,
    ``state``, ``done``, ``error_code``, ``error_status``, ``error_message``, ``metadata_type``, ``start_time``,
    ``target``, ``matched``.

    :param operation_name: relative name, full resource name or REST URL; validated before any call. Templated.
    :param service: service key (``dataproc``, ``aiplatform``, ...) when the name is ambiguous. Templated.
    :param api_version: API version (default: the URL's, else the service's first). Templated.
    :param target: ``"succeeded"`` (default), ``"cancelled"`` or ``"done"``.
    :param fail_on_mismatch: fail when the operation ends other than ``target`` (default ``True``).
    :param gcp_conn_id: Airflow connection (``google_cloud_default``: a missing connection means ADC).
    :param impersonation_chain: service account to impersonate, or a chain. Templated.
    :param deferrable: wait in the triggerer (default ``[operators] default_deferrable``). The trigger polls
        first after ``poke_interval`` seconds, then on a schedule that grows with the operation's age (≤ 60 s).
    :param cancel_on_kill: cancel the operation on timeout or kill (default ``True``; see above).
    """

    template_fields: Sequence[str] = ("operation_name", "service", "api_version", "gcp_conn_id", "impersonation_chain")
    operator_extra_links = (OperationLogsLink(), TargetResourceLink())
    ui_color = "#d9ead3"

    def __init__(
        self,
        *,
        operation_name: str,
        service: str | None = None,
        api_version: str | None = None,
        target: str = "succeeded",
        fail_on_mismatch: bool = True,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        deferrable: bool | None = None,
        cancel_on_kill: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            gcp_conn_id=gcp_conn_id, impersonation_chain=impersonation_chain, cancel_on_kill=cancel_on_kill, **kwargs
        )
        self.operation_name = operation_name
        self.service = service
        self.api_version = api_version
        self.target = choice(target, TARGETS, "target")
        self.fail_on_mismatch = fail_on_mismatch
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self._last_poke_running = False

    # -- execution -------------------------------------------------------------------------------------------
    def execute(self, context: Context) -> Any:
        from airflow_provider_gcp_ops._compat import AirflowSensorTimeout, AirflowSkipException
        from airflow_provider_gcp_ops.operations.errors import OperationsError

        ref = self.resolve(self.operation_name, service=self.service, api_version=self.api_version)
        self.remember(context, ref)
        if self.deferrable:
            return self._execute_deferrable(context, ref)
        try:
            return super().execute(context)
        except (AirflowSensorTimeout, AirflowSkipException):
            # The base class raises these after a poke that found the operation still running only when the
            # sensor's timeout has passed (a skip when soft_fail); a poke's own failure leaves the flag False.
            if self._last_poke_running:
                self._cancel_on_timeout(ref)
            raise
        except OperationsError as exc:  # a poke failed for good (not transient): the wait fails, cancel first
            self.cancel_failed_wait(type(exc).__name__, ref)
            raise

    def _execute_deferrable(self, context: Context, ref: OperationRef) -> Any:
        from airflow_provider_gcp_ops._compat import AirflowFailException, AirflowSkipException

        try:
            first = self.poke(context)
        except AirflowFailException as exc:
            if self.soft_fail:
                raise AirflowSkipException(f"Skipping due to soft_fail: {exc}") from exc
            raise
        if first:
            assert isinstance(first, PokeReturnValue)
            return first.xcom_value
        deadline = task_deadline(context, timeout_s=self.timeout, execution_timeout=self.execution_timeout)
        self.defer(
            trigger=self.trigger(ref, deadline, poll_interval=self.poke_interval, cancel_on_kill=self.cancel_on_kill),
            method_name="execute_complete",
            timeout=self.defer_timeout(deadline),
        )

    def poke(self, context: Context) -> bool | PokeReturnValue:
        from airflow_provider_gcp_ops.operations.errors import OperationsError

        self._last_poke_running = False
        ref = self._ref or self.resolve(self.operation_name, service=self.service, api_version=self.api_version)
        try:
            op = self.hook.get_operation(ref)
        except OperationsError as exc:
            if not self.hook.is_transient(exc):
                raise
            # An outage outlasting one call's retries: not a verdict. Poke again; the sensor's timeout is the
            # deadline (then the operation, state unknown, is cancelled when owned), as in any wait.
            self._last_poke_running = True
            self.log.warning("Could not poll operation %s (transient, will poke again): %s", ref.name, exc)
            return False
        self.remember(context, ref, op)
        if not op.done:
            self._last_poke_running = True
            self.log.info("Operation %s is still running", ref.name)
            return False
        return PokeReturnValue(is_done=True, xcom_value=self._evaluate(ref, op.summary()))

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger: validate the event; a ``timeout`` event cancels (when owned) and fails."""
        from airflow_provider_gcp_ops._compat import AirflowException

        expected = self.resolve(self.operation_name, service=self.service, api_version=self.api_version)
        parsed, ref = self.parse_event(event, expected)
        if parsed.status == "done":
            assert parsed.operation is not None  # guaranteed by OperationEvent.from_payload
            return self._evaluate(ref, parsed.operation)
        if parsed.status == "timeout":
            self._cancel_on_timeout(ref)
            deadline = task_deadline(context, timeout_s=self.timeout, execution_timeout=self.execution_timeout)
            message = f"Operation {ref.name} was still running at the sensor's deadline ({deadline.describe()})"
            raise deadline_error(deadline, message, sensor=True)
        self.cancel_failed_wait(f"{parsed.error_type} in the triggerer", ref)
        raise AirflowException(f"Waiting for operation {ref.name} failed: {parsed.error_type}: {parsed.message}")

    def on_kill(self) -> None:
        self.kill_cancel()

    # -- helpers ---------------------------------------------------------------------------------------------
    def _cancel_on_timeout(self, ref: OperationRef) -> None:
        if self.cancel_on_kill:
            self.cancel_once("the sensor timed out while the operation was running", ref)
        else:
            self.log.info("cancel_on_kill is False: leaving operation %s running after the timeout", ref.name)

    def _evaluate(self, ref: OperationRef, summary: Mapping[str, Any]) -> dict[str, Any]:
        from airflow_provider_gcp_ops._compat import AirflowFailException

        state = summary.get("state")
        matched = self.target in ("done", state)
        result = result_summary(ref, summary, target=self.target, matched=matched)
        if matched:
            self.log.info("Operation %s is done: %s", ref.name, state)
            return result
        message = f"Operation {ref.name} ended {state}, not {self.target}"
        if state == "failed":
            message += f": {describe_error(summary)}"
        if self.fail_on_mismatch:
            raise AirflowFailException(message)
        self.log.warning("%s (fail_on_mismatch=False)", message)
        return result

"""``StartOperationOperator``: call any Google REST method that returns an Operation, then wait for it.

The task owns the operation it started: when the task is killed or times out, it cancels it (once).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator

from airflow_provider_gcp_ops.links.console import OperationLogsLink, TargetResourceLink
from airflow_provider_gcp_ops.operators._common import (
    DEFAULT_POLL_INTERVAL_S,
    XCOM_OPERATION_NAME,
    Deadline,
    OperationTask,
    deadline_error,
    default_deferrable,
    describe_error,
    result_summary,
    seconds,
    task_deadline,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_gcp_ops.operations.model import Operation
    from airflow_provider_gcp_ops.operations.names import OperationRef

__all__ = ["MAX_RESPONSE_BYTES", "StartOperationOperator"]

MAX_RESPONSE_BYTES = 32 * 1024


class StartOperationOperator(OperationTask, BaseOperator):  # type: ignore[misc]
    """Start a Google Cloud long-running operation with a REST call, then wait until it is done.

    Example: a Dataproc Serverless batch::

        StartOperationOperator(
            task_id="spark_batch",
            service="dataproc",
            path="v1/projects/my-project/locations/europe-west1/batches",
            query={"batchId": "nightly-{{ ds_nodash }}"},
            body={"sparkBatch": {"mainClass": "org.example.Main", "jarFileUris": ["gs://bucket/app.jar"]}},
            request_id="nightly-{{ ds_nodash }}-{{ ti.try_number }}",  # new try, new batch
        )

    The operation's name is pushed to XCom (key ``operation_name``) the moment the call returns, before any
    wait, so downstream tasks and humans can find it even if this task dies. Then the operator waits: in the
    worker (deadline: ``timeout`` or ``execution_timeout``), or deferred (``deferrable=True``) in the triggerer
    with the absolute deadline ``ti.start_date + min(timeout, execution_timeout)``.

    The task owns the operation. With ``cancel_on_kill=True`` (default) one quick cancel is sent when:
    ``execution_timeout`` fires while the task runs on a worker, or it is SIGTERMed / marked failed there
    (``on_kill``); the deferred wait reaches the deadline (``execute_complete`` cancels, then fails); our own
    ``timeout`` passes in the worker; a user marks the *deferred* task failed/success or clears it (the
    trigger's ``on_kill``, Airflow ≥ 3.3). Never a second cancel.

    Outcome: an operation that succeeds makes the task succeed; one that fails (or was cancelled by someone)
    fails it with the operation's error code and message (retries apply and start a new operation). A deadline
    fails it with ``AirflowTaskTimeout`` when ``execution_timeout`` was the earlier bound, else
    ``AirflowException``.

    Retries of the start call itself: a create is not idempotent, so without ``request_id`` only a 429 and a
    connection that could not be opened are retried (nothing reached the server); with ``request_id`` (sent as
    the ``requestId`` query parameter, which Dataproc, AlloyDB, Data Fusion and others deduplicate on) the call
    is retried like any idempotent call. Only set ``request_id`` for a method that documents ``requestId``.

    The return value (XCom ``return_value``) is a JSON-safe dict: ``name``, ``service``, ``api_version``,
    ``state``, ``done``, ``error_code``, ``error_status``, ``error_message``, ``metadata_type``, ``start_time``,
    and with ``include_response`` the operation's ``response`` (dropped with ``response_truncated: True``
    above 32 KiB of JSON).

    :param path: the method: ``{version}/{resource path}[:verb]`` (``v1/projects/p/locations/r/batches``,
        ``v1/projects/p/instances/i/databases:restore``) or an https REST URL on a host the service table lists.
        Validated before any call. Templated.
    :param service: service key of the service table (``dataproc``, ``spanner``, ...); needed for a relative
        path (a URL's host implies it). Templated.
    :param method: HTTP method (default ``POST``).
    :param body: JSON request body (POST/PATCH/PUT; default ``{}``). Templated (rendered as JSON in the UI).
    :param query: query parameters (``{"batchId": "..."}``). Templated.
    :param request_id: idempotency key sent as ``requestId``; makes the start call safely retryable. Templated.
    :param api_version: must agree with the path's version when given. Templated.
    :param gcp_conn_id: Airflow connection (``google_cloud_default``: a missing connection means ADC).
    :param impersonation_chain: service account to impersonate, or a chain. Templated.
    :param wait_for_completion: wait until done (default ``True``); ``False`` returns right after the start.
    :param timeout: longest wait, from the task's start (default ``None``: ``execution_timeout``, else 7 days).
    :param deferrable: wait in the triggerer (default ``[operators] default_deferrable``).
    :param poll_interval: seconds between polls at first (grows with the operation's age, at most 60 s).
    :param cancel_on_kill: cancel the operation on kill and deadlines (default ``True``).
    :param include_response: add the operation's ``response`` to the result (default ``False``).
    """

    template_fields: Sequence[str] = (
        "path",
        "service",
        "api_version",
        "body",
        "query",
        "request_id",
        "gcp_conn_id",
        "impersonation_chain",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"body": "json", "query": "json"}
    operator_extra_links = (OperationLogsLink(), TargetResourceLink())
    ui_color = "#cfe2f3"

    def __init__(
        self,
        *,
        path: str,
        service: str | None = None,
        method: str = "POST",
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        api_version: str | None = None,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        wait_for_completion: bool = True,
        timeout: float | timedelta | None = None,
        deferrable: bool | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL_S,
        cancel_on_kill: bool = True,
        include_response: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            gcp_conn_id=gcp_conn_id, impersonation_chain=impersonation_chain, cancel_on_kill=cancel_on_kill, **kwargs
        )
        self.path = path
        self.service = service
        self.method = method.upper()
        self.body = body
        self.query = query
        self.request_id = request_id
        self.api_version = api_version
        self.wait_for_completion = wait_for_completion
        self.timeout = seconds(timeout, "timeout")
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.poll_interval = seconds(poll_interval, "poll_interval") or DEFAULT_POLL_INTERVAL_S
        self.include_response = include_response

    # -- execution -------------------------------------------------------------------------------------------
    def _query(self) -> dict[str, Any]:
        query = dict(self.query or {})
        if self.request_id:
            query["requestId"] = self.request_id
        return query

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_gcp_ops.operations.errors import InvalidOperationNameError, OperationsError, WaitTimeout

        # Validate everything before any network call (the client validates again with its endpoint).
        service, api_version = self.hook.check_start(
            self.method,
            self.path,
            service=self.service,
            api_version=self.api_version,
            body=self.body,
            query=self._query(),
        )
        idempotent = bool(self.request_id) or self.method == "GET"
        self.log.info(
            "Calling %s %s (%s)",
            self.method,
            self.path,
            "retried: requestId set" if idempotent else "not retried unless nothing reached the server",
        )
        op = self.hook.start_operation(
            self.method,
            self.path,
            service=service,
            api_version=api_version,
            body=self.body,
            query=self._query(),
            idempotent=idempotent,
        )
        try:
            ref = self.resolve(op.name, service=service, api_version=api_version)
        except InvalidOperationNameError as exc:
            from airflow_provider_gcp_ops._compat import AirflowException

            raise AirflowException(
                f"{self.method} {self.path} returned an operation this provider cannot watch: {exc}"
            ) from exc
        self.remember(context, ref, op)  # first: from here on_kill knows what to cancel (each push is a round trip)
        context["ti"].xcom_push(key=XCOM_OPERATION_NAME, value=ref.name)
        self.log.info("Started operation %s", ref.name)
        if op.done or not self.wait_for_completion:
            return self._finish(ref, op.summary(), op) if op.done else result_summary(ref, op.summary())

        deadline = task_deadline(context, timeout_s=self.timeout, execution_timeout=self.execution_timeout)
        if self.deferrable:
            self.defer(
                trigger=self.trigger(
                    ref, deadline, poll_interval=self.poll_interval, cancel_on_kill=self.cancel_on_kill
                ),
                method_name="execute_complete",
                timeout=self.defer_timeout(deadline),
            )
        try:
            # Outages are ridden out until the deadline (the wait plan's rule, the same as the trigger's).
            op = self.hook.wait_for_operation(ref, timeout=deadline.worker_remaining())
        except WaitTimeout as exc:
            raise self._deadline_passed(ref, deadline, exc.operation.summary() if exc.operation else None) from None
        except OperationsError as exc:
            self.cancel_failed_wait(type(exc).__name__, ref)
            raise
        self.remember(context, ref, op)
        return self._finish(ref, op.summary(), op)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger. The event names the operation (``dags test`` passes nothing else)."""
        from airflow_provider_gcp_ops._compat import AirflowException

        parsed, ref = self.parse_event(event, None)
        if parsed.status == "done":
            assert parsed.operation is not None  # guaranteed by OperationEvent.from_payload
            return self._finish(ref, parsed.operation, None)
        if parsed.status == "timeout":
            deadline = task_deadline(context, timeout_s=self.timeout, execution_timeout=self.execution_timeout)
            raise self._deadline_passed(ref, deadline, parsed.operation)
        self.cancel_failed_wait(f"{parsed.error_type} in the triggerer", ref)
        raise AirflowException(f"Waiting for operation {ref.name} failed: {parsed.error_type}: {parsed.message}")

    def on_kill(self) -> None:
        self.kill_cancel()

    # -- outcomes --------------------------------------------------------------------------------------------
    def _deadline_passed(self, ref: OperationRef, deadline: Deadline, summary: Any) -> BaseException:
        """Cancel (once, when owned) and build the failure for a wait that reached the task's deadline."""
        if self.cancel_on_kill:
            self.cancel_once(f"the task's deadline passed ({deadline.describe()})", ref)
        message = f"Operation {ref.name} was still running at the task's deadline ({deadline.describe()})"
        message += "; a cancel was requested" if self.cancel_on_kill else "; left running (cancel_on_kill=False)"
        return deadline_error(deadline, message)

    def _finish(self, ref: OperationRef, summary: Mapping[str, Any], op: Operation | None) -> dict[str, Any]:
        from airflow_provider_gcp_ops._compat import AirflowException

        state = summary.get("state")
        if state != "succeeded":
            detail = describe_error(summary)
            raise AirflowException(f"Operation {ref.name} ended {state}: {detail}")
        self.log.info("Operation %s succeeded", ref.name)
        result = result_summary(ref, summary)
        if self.include_response:
            result.update(self._response(ref, op))
        return result

    def _response(self, ref: OperationRef, op: Operation | None) -> dict[str, Any]:
        """The operation's response for XCom, fetched once more after a deferred wait (events carry no response)."""
        if op is None:
            op = self.hook.get_operation(ref)
        response = dict(op.response) if op.response is not None else None
        size = len(json.dumps(response, separators=(",", ":"), default=str))
        if size > MAX_RESPONSE_BYTES:
            self.log.warning("Operation response is %d bytes of JSON; not pushed to XCom", size)
            return {"response": None, "response_truncated": True}
        return {"response": response, "response_truncated": False}

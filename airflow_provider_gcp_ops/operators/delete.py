"""``DeleteOperationOperator``: delete an operation's record, refusing to drop one that is still running.

Google's DeleteOperation "indicates that the client is no longer interested in the operation result. It does not
cancel the operation." Deleting a running operation therefore leaves its work running with no handle left to
watch or cancel it. So the operator reads the operation first and refuses that, unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_gcp_ops.operators._common import OperationTask, choice, result_summary

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_gcp_ops.operations.names import OperationRef

__all__ = ["OUTCOMES", "DeleteOperationOperator"]

OUTCOMES = ("deleted", "not_found", "unimplemented")


class DeleteOperationOperator(OperationTask, BaseOperator):  # type: ignore[misc]
    """Delete a long-running operation's record (``DeleteOperation``), after checking it is done.

    1. GET the operation. Still running and ``allow_running=False`` (default): the task fails and nothing is
       deleted (cancel it first, e.g. with ``CancelOperationOperator``). ``allow_running=True`` deletes the record
       anyway and logs a warning: the work goes on, unobservable.
    2. DELETE it.

    Outcomes (XCom ``return_value``: the operation's summary as read in step 1 plus ``outcome``):

    - ``deleted``.
    - ``not_found``: the GET or the DELETE answered NOT_FOUND (already deleted, expired, or a wrong name). With
      ``not_found_ok=True`` the task succeeds; else (default) it fails.
    - ``unimplemented``: the service cannot delete operations (Dialogflow: the service table says so and no
      request is sent; or the server answered 501). ``on_unimplemented``: ``"fail"`` (default), ``"warn"``
      (log and succeed) or ``"skip"``.

    :param operation_name: relative name, full resource name or REST URL; validated before any call. Templated.
    :param service: service key (``dataproc``, ``datafusion``, ...) when the name is ambiguous. Templated.
    :param api_version: API version (default: the URL's, else the service's first). Templated.
    :param allow_running: delete the record of a running operation too, without cancelling it (default ``False``).
    :param not_found_ok: an operation that does not exist (any more) is a success (default ``False``).
    :param on_unimplemented: ``"fail"`` (default), ``"warn"`` or ``"skip"``.
    :param gcp_conn_id: Airflow connection (``google_cloud_default``: a missing connection means ADC).
    :param impersonation_chain: service account to impersonate, or a chain. Templated.
    """

    template_fields: Sequence[str] = ("operation_name", "service", "api_version", "gcp_conn_id", "impersonation_chain")
    ui_color = "#ead1dc"

    def __init__(
        self,
        *,
        operation_name: str,
        service: str | None = None,
        api_version: str | None = None,
        allow_running: bool = False,
        not_found_ok: bool = False,
        on_unimplemented: str = "fail",
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        # cancel_on_kill: deleting owns nothing to cancel
        super().__init__(gcp_conn_id=gcp_conn_id, impersonation_chain=impersonation_chain, **kwargs)
        self.operation_name = operation_name
        self.service = service
        self.api_version = api_version
        self.allow_running = allow_running
        self.not_found_ok = not_found_ok
        self.on_unimplemented = choice(on_unimplemented, ("fail", "warn", "skip"), "on_unimplemented")

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_gcp_ops._compat import AirflowFailException
        from airflow_provider_gcp_ops.operations.errors import NotFound, Unimplemented
        from airflow_provider_gcp_ops.operations.services import Verb

        ref = self.resolve(self.operation_name, service=self.service, api_version=self.api_version)
        if not ref.supports(Verb.DELETE):
            return self._unimplemented(ref, None, f"{ref.spec.title} has no delete verb (no request was sent)")
        try:
            op = self.hook.get_operation(ref)
        except NotFound as exc:
            return self._not_found(ref, None, str(exc))
        summary = op.summary()
        if not op.done:
            if not self.allow_running:
                raise AirflowFailException(
                    f"Operation {ref.name} is still running: deleting it would drop its record without cancelling "
                    "the work, leaving nothing to watch or cancel it with. Nothing was deleted. Cancel it first "
                    "(CancelOperationOperator), or set allow_running=True to delete the record anyway."
                )
            self.log.warning(
                "Operation %s is still running; deleting its record anyway (allow_running=True). "
                "The work is NOT cancelled.",
                ref.name,
            )
        try:
            self.hook.delete_operation(ref)
        except NotFound as exc:
            return self._not_found(ref, summary, str(exc))
        except Unimplemented as exc:
            return self._unimplemented(ref, summary, str(exc))
        self.log.info("Deleted operation %s (%s)", ref.name, summary["state"])
        return result_summary(ref, summary, outcome="deleted")

    def _not_found(self, ref: OperationRef, summary: Mapping[str, Any] | None, detail: str) -> dict[str, Any]:
        from airflow_provider_gcp_ops._compat import AirflowFailException

        message = f"Operation {ref.name} was not found (already deleted, expired, or a wrong name): {detail}"
        if not self.not_found_ok:
            raise AirflowFailException(message + " (not_found_ok=False)")
        self.log.info("%s; fine (not_found_ok=True)", message)
        return result_summary(ref, summary, outcome="not_found")

    def _unimplemented(self, ref: OperationRef, summary: Mapping[str, Any] | None, detail: str) -> dict[str, Any]:
        from airflow_provider_gcp_ops._compat import AirflowFailException, AirflowSkipException

        message = f"Operation {ref.name} cannot be deleted: {detail}"
        if self.on_unimplemented == "fail":
            raise AirflowFailException(message + " (on_unimplemented='fail')")
        if self.on_unimplemented == "skip":
            raise AirflowSkipException(message)
        self.log.warning("%s", message)
        return result_summary(ref, summary, outcome="unimplemented")

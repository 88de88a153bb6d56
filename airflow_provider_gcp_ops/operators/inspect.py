"""``GetOperationOperator`` and ``ListOperationsOperator``: read operations into XCom, change nothing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_gcp_ops.links.console import OperationLogsLink, TargetResourceLink
from airflow_provider_gcp_ops.operators._common import OperationTask, result_summary

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_gcp_ops.operations.model import Operation

__all__ = ["DEFAULT_MAX_RESULTS", "MAX_JSON_BYTES", "GetOperationOperator", "ListOperationsOperator", "list_entry"]

DEFAULT_MAX_RESULTS = 100
MAX_JSON_BYTES = 32 * 1024  # metadata / response larger than this is not pushed to XCom


def _capped(value: Any) -> tuple[Any, bool]:
    """``value`` if its JSON is at most ``MAX_JSON_BYTES``, else ``(None, True)``."""
    if value is None:
        return None, False
    plain = dict(value)
    if len(json.dumps(plain, separators=(",", ":"), default=str)) > MAX_JSON_BYTES:
        return None, True
    return plain, False


def list_entry(op: Operation) -> dict[str, Any]:
    """One operation of a listing, JSON-safe and small: its summary plus its end time."""
    entry = op.summary()
    ended = op.end_time()
    entry["end_time"] = ended.isoformat() if ended else None
    return entry


class GetOperationOperator(OperationTask, BaseOperator):  # type: ignore[misc]
    """Read one long-running operation and return its summary (XCom ``return_value``). Changes nothing.

    The summary: ``name``, ``service``, ``api_version``, ``state`` (``running`` / ``succeeded`` / ``failed`` /
    ``cancelled``), ``done``, ``error_code`` (rpc code), ``error_status``, ``error_message``, ``metadata_type``,
    ``start_time``, ``end_time``; with ``include_metadata`` / ``include_response`` also ``metadata`` /
    ``response`` (``None`` with ``metadata_truncated`` / ``response_truncated`` ``True`` above 32 KiB of JSON).

    A NOT_FOUND (a wrong name, or an operation expired about 30 days after it finished) fails the task.

    :param operation_name: relative name, full resource name or REST URL; validated before any call. Templated.
    :param service: service key (``dataproc``, ``aiplatform``, ...) when the name is ambiguous. Templated.
    :param api_version: API version (default: the URL's, else the service's first). Templated.
    :param include_metadata: add the operation's ``metadata`` (default ``False``).
    :param include_response: add the operation's ``response`` (default ``False``).
    :param gcp_conn_id: Airflow connection (``google_cloud_default``: a missing connection means ADC).
    :param impersonation_chain: service account to impersonate, or a chain. Templated.
    """

    template_fields: Sequence[str] = ("operation_name", "service", "api_version", "gcp_conn_id", "impersonation_chain")
    operator_extra_links = (OperationLogsLink(), TargetResourceLink())
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        operation_name: str,
        service: str | None = None,
        api_version: str | None = None,
        include_metadata: bool = False,
        include_response: bool = False,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        # cancel_on_kill: reading owns nothing
        super().__init__(gcp_conn_id=gcp_conn_id, impersonation_chain=impersonation_chain, **kwargs)
        self.operation_name = operation_name
        self.service = service
        self.api_version = api_version
        self.include_metadata = include_metadata
        self.include_response = include_response

    def execute(self, context: Context) -> dict[str, Any]:
        ref = self.resolve(self.operation_name, service=self.service, api_version=self.api_version)
        self.remember(context, ref)
        op = self.hook.get_operation(ref)
        self.remember(context, ref, op)
        ended = op.end_time()
        result = result_summary(ref, op.summary(), end_time=ended.isoformat() if ended else None)
        for wanted, key, value in (
            (self.include_metadata, "metadata", op.metadata),
            (self.include_response, "response", op.response),
        ):
            if wanted:
                result[key], result[f"{key}_truncated"] = _capped(value)
        self.log.info("Operation %s: %s%s", ref.name, result["state"], "" if op.done else " (not done)")
        return result


class ListOperationsOperator(OperationTask, BaseOperator):  # type: ignore[misc]
    """List the operations under a parent and return their summaries (XCom ``return_value``, a list).

    At most ``max_results`` entries (default 100), so the XCom stays small; when there were more, a warning says
    so (the operator reads one entry beyond the cap to know). Narrow the listing with the service's ``filter``.
    Each entry: ``name``, ``done``, ``state``, ``error_code``, ``error_status``, ``error_message``,
    ``metadata_type``, ``start_time``, ``end_time``, in the server's order. Locations the server could not reach
    (``return_partial_success``) are logged.

    :param parent: the collection: ``projects/p/regions/us-central1`` (Dataproc), ``projects/p/locations/l``,
        with or without ``/operations``; a full resource name or REST URL works too. Templated.
    :param service: service key (``dataproc``, ``datafusion``, ...) when the parent is ambiguous (most
        ``projects/*/locations/*`` parents). Templated.
    :param api_version: API version (default: the URL's, else the service's first). Templated.
    :param filter: server-side filter in the service's syntax (Dataproc: ``status.state = RUNNING``; many
        services: ``done = true``); ``None`` lists everything. Templated.
    :param page_size: list page size (default: the server's).
    :param max_results: most entries returned (default 100); ``None``: all (mind the XCom size).
    :param return_partial_success: ask for what the reachable locations have (services that support it).
    :param gcp_conn_id: Airflow connection (``google_cloud_default``: a missing connection means ADC).
    :param impersonation_chain: service account to impersonate, or a chain. Templated.
    """

    template_fields: Sequence[str] = (
        "parent",
        "service",
        "api_version",
        "filter",
        "gcp_conn_id",
        "impersonation_chain",
    )
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        parent: str,
        service: str | None = None,
        api_version: str | None = None,
        filter: str | None = None,
        page_size: int | None = None,
        max_results: int | None = DEFAULT_MAX_RESULTS,
        return_partial_success: bool = False,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(gcp_conn_id=gcp_conn_id, impersonation_chain=impersonation_chain, **kwargs)
        for what, value in (("max_results", max_results), ("page_size", page_size)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValueError(f"{what} must be a non-negative integer or None, got {value!r}")
        self.parent = parent
        self.service = service
        self.api_version = api_version
        self.filter = filter
        self.page_size = page_size
        self.max_results = max_results
        self.return_partial_success = return_partial_success

    def execute(self, context: Context) -> list[dict[str, Any]]:
        from airflow_provider_gcp_ops.operations.names import resolve_collection

        coll = resolve_collection(self.parent, service=self.service or None, api_version=self.api_version or None)
        cap = None if self.max_results is None else self.max_results + 1
        pager = self.hook.operation_pager(
            coll,
            filter=self.filter or None,
            page_size=self.page_size,
            return_partial_success=self.return_partial_success,
            max_results=cap,
        )
        entries = [list_entry(op) for op in pager]
        if self.max_results is not None and len(entries) > self.max_results:
            entries = entries[: self.max_results]
            self.log.warning(
                "%s has more than max_results=%d operations%s: returning the first %d",
                coll.parent,
                self.max_results,
                " matching the filter" if self.filter else "",
                self.max_results,
            )
        if pager.unreachable:
            self.log.warning("Unreachable locations (not listed): %s", ", ".join(pager.unreachable))
        states: dict[str, int] = {}
        for entry in entries:
            states[entry["state"]] = states.get(entry["state"], 0) + 1
        self.log.info("Listed %d operation(s) under %s: %s", len(entries), coll.parent, states or "none")
        return entries

"""Extra links of every task that knows its operation: "Operation logs" and "Target resource".

Google's console has no page for a long-running operation itself; what it has (see
:mod:`airflow_provider_gcp_ops.operations.targets`):

- **Operation logs** (every service): Logs Explorer filtered on the operation's audit log entries. Built from
  the operation's name alone, no request.
- **Target resource**: the console page of the resource the operation acts on (Dataproc cluster or batch,
  Vertex AI training pipeline, Spanner database, Data Fusion instance, AlloyDB cluster, ...), where the name or
  the metadata names it. Where only the metadata can name it (Dataproc, Data Fusion, AlloyDB) the task records
  the resource it names (``target``) when it has seen the operation (started it, read it, polled it, waited for
  it in the worker); only when nothing was recorded (say, a task killed before its first read) does the link read
  the metadata with one quick GET of the operation when the task's run ends (5 s connect, 10 s read, at most two
  attempts). A nested name (``.../databases/d/operations/o``) and every other service need no request. No page
  for that kind, an operation gone (deleted record), or a failed GET: no link (an empty string, which Airflow
  renders as no link; a failed GET is logged as a warning).

The task pushes ``{"name", "service", "api_version"}`` (plus ``target``, a resource's relative name, once known)
to the XCom ``gcp_operation`` as soon as it knows the operation; Airflow's task runner calls :meth:`get_link` in
the worker when the task ends (``finalize`` in ``airflow/sdk/execution_time/task_runner.py``) and stores the URL as
an XCom the UI reads.

Cheap to import: operator modules import it at parse time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator

    from airflow_provider_gcp_ops._compat import TaskInstanceKey

__all__ = ["XCOM_KEY", "OperationLogsLink", "TargetResourceLink"]

XCOM_KEY = "gcp_operation"
log = logging.getLogger(__name__)


def _recorded(ti_key: TaskInstanceKey) -> tuple[str, str, str | None, str | None] | None:
    """(name, service, api_version, target) the task recorded in XCom ``gcp_operation``, or ``None``."""
    from airflow.sdk.execution_time.xcom import XCom

    value: Any = XCom.get_value(ti_key=ti_key, key=XCOM_KEY)
    if not isinstance(value, Mapping):
        return None
    name, service, version, target = (value.get(k) for k in ("name", "service", "api_version", "target"))
    if not isinstance(name, str) or not isinstance(service, str):
        return None
    return name, service, version if isinstance(version, str) else None, target if isinstance(target, str) else None


class OperationLogsLink(BaseOperatorLink):
    """Logs Explorer on the operation's audit log entries (``operation.id``), for every service."""

    name = "Operation logs"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow_provider_gcp_ops.operations.targets import logs_url

        recorded = _recorded(ti_key)
        return (logs_url(recorded[0]) or "") if recorded else ""


class TargetResourceLink(BaseOperatorLink):
    """The console page of the resource the operation acts on, where the console has one."""

    name = "Target resource"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow_provider_gcp_ops.operations.targets import needs_metadata, resource_url, target_url

        recorded = _recorded(ti_key)
        if recorded is None:
            return ""
        name, service, version, target = recorded
        if not needs_metadata(name, service):  # a nested name, or a service without a metadata-named page
            return target_url(name, service, None) or ""
        if target is not None:  # the task saw the metadata: no request (the page's pattern validates it again)
            return resource_url(service, target) or ""
        metadata = _metadata(operator, name, service, version)
        return (target_url(name, service, metadata) or "") if metadata is not None else ""


def _metadata(operator: BaseOperator, name: str, service: str, version: str | None) -> Mapping[str, Any] | None:
    """The operation's metadata through the task's own hook (its connection): one quick GET, ``None`` on any
    failure."""
    from airflow_provider_gcp_ops.hooks.operations import GoogleOperationsHook

    try:
        hook = getattr(operator, "hook", None)
        if not isinstance(hook, GoogleOperationsHook):  # not one of our tasks (it has no hook of its own)
            hook = GoogleOperationsHook(
                gcp_conn_id=getattr(operator, "gcp_conn_id", GoogleOperationsHook.default_conn_name),
                impersonation_chain=getattr(operator, "impersonation_chain", None),
            )
        return hook.quick_get(name, service=service, api_version=version).metadata
    except Exception as exc:  # a link is best effort: the task's outcome never depends on it
        log.warning("No 'Target resource' link for %s: reading its metadata failed: %s", name, exc)
        return None

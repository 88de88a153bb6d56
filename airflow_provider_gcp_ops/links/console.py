"""The "Google Cloud Console" extra link, for services whose console has a page for an operation.

Which services have one is data: the service table's ``console_url`` template (fields ``{project}``,
``{location}``, ``{operation_id}``, ``{name}``; each value URL-quoted). No built-in row sets it today: Google's
console has pages for Dataproc clusters and batches, Vertex AI jobs, Spanner databases and so on, but none for
an individual long-running *operation* of the services in the table, and a link to a page that is not about the
operation would mislead. A row registered with :func:`~airflow_provider_gcp_ops.operations.services.register_service`
(or a future built-in) that sets ``console_url`` gets the link; every other operation gets none (an empty
string, which Airflow renders as no link).

The task pushes ``{"name", "service", "api_version"}`` to the XCom ``gcp_operation`` as soon as it knows the
operation; Airflow's task runner calls :meth:`get_link` in the worker when the task ends and stores the URL.

Cheap to import: operator modules import it at parse time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator

    from airflow_provider_gcp_ops._compat import TaskInstanceKey

__all__ = ["XCOM_KEY", "OperationConsoleLink", "console_url"]

XCOM_KEY = "gcp_operation"
_CONSOLE_PREFIX = "https://console.cloud.google.com/"


def console_url(name: str, service: str) -> str:
    """The console URL for operation ``name`` of ``service``, or ``""`` when the row has no console page."""
    from airflow_provider_gcp_ops.operations.errors import OperationsError
    from airflow_provider_gcp_ops.operations.names import resolve_operation
    from airflow_provider_gcp_ops.operations.services import UnknownServiceError

    try:
        ref = resolve_operation(name, service=service)
    except (OperationsError, UnknownServiceError):
        return ""
    template = ref.spec.console_url
    if not template:
        return ""
    fields = {
        "project": ref.project or "",
        "location": ref.location or "",
        "operation_id": ref.operation_id,
        "name": ref.name,
    }
    try:
        url = template.format(**{k: quote(v, safe="") for k, v in fields.items()})
    except (KeyError, IndexError, ValueError):
        return ""
    # The template is configuration, but a link shown in the UI must point at the console, nowhere else.
    return url if url.startswith(_CONSOLE_PREFIX) else ""


class OperationConsoleLink(BaseOperatorLink):
    """Extra link to the operation's page in the Google Cloud console, where the service has one."""

    name = "Google Cloud Console"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        value: Any = XCom.get_value(ti_key=ti_key, key=XCOM_KEY)
        if not isinstance(value, Mapping):
            return ""
        name, service = value.get("name"), value.get("service")
        if not isinstance(name, str) or not isinstance(service, str):
            return ""
        return console_url(name, service)

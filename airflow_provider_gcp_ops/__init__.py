"""Apache Airflow provider for Google Cloud long-running operations.

This module is imported by Airflow's provider discovery (``get_provider_info``) on every start, so it imports
nothing heavy.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "get_provider_info"]


def get_provider_info() -> dict[str, Any]:
    """The provider metadata dict Airflow reads through the ``apache_airflow_provider`` entry point.

    It must satisfy ``airflow/provider_info.schema.json``: an invalid dict breaks ``import airflow`` itself.
    The connection type is our own (``google_cloud_operations``); the hook reads users' existing
    ``google_cloud_platform`` connections (``google_cloud_default``) by id, without claiming that type.
    """
    from airflow_provider_gcp_ops.connection_form import provider_connection_type

    integration = "Google Cloud long-running operations"
    package = "airflow_provider_gcp_ops"

    def modules(*names: str) -> list[dict[str, Any]]:
        return [{"integration-name": integration, "python-modules": [f"{package}.{n}" for n in names]}]

    return {
        "package-name": "airflow-provider-gcp-ops",
        "name": "Google Cloud long-running operations",
        "description": "Watch, cancel, delete and clean up Google Cloud long-running operations "
        "(google.longrunning.Operations over REST), with cancel-on-kill on every path.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": integration,
                "external-doc-url": "https://google.aip.dev/151",
                "tags": ["gcp"],
            }
        ],
        "operators": modules(
            "operators.start", "operators.cancel", "operators.inspect", "operators.delete", "operators.housekeeping"
        ),
        "sensors": modules("sensors.operation"),
        "hooks": modules("hooks.operations"),
        "triggers": modules("triggers.operation", "triggers.watcher"),
        "extra-links": [
            "airflow_provider_gcp_ops.links.console.OperationLogsLink",
            "airflow_provider_gcp_ops.links.console.TargetResourceLink",
        ],
        "connection-types": [provider_connection_type(f"{package}.hooks.operations.GoogleOperationsHook")],
    }

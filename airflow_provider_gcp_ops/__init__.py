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
    return {
        "package-name": "airflow-provider-gcp-ops",
        "name": "Google Cloud long-running operations",
        "description": "Watch, cancel, delete and clean up Google Cloud long-running operations "
        "(google.longrunning.Operations over REST), with cancel-on-kill on every path.",
        "versions": [__version__],
        "extra-links": ["airflow_provider_gcp_ops.links.console.OperationConsoleLink"],
        "connection-types": [
            {
                "hook-class-name": "airflow_provider_gcp_ops.hooks.operations.GoogleOperationsHook",
                "connection-type": "google_cloud_operations",
            }
        ],
    }

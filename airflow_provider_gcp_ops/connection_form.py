"""The ``google_cloud_operations`` connection form, as data: one table for the provider info and the hook.

Airflow ≥ 3.2 reads the form from the provider info (``conn-fields`` and ``ui-field-behaviour`` of a
``connection-types`` entry: see ``ProvidersManager._load_ui_metadata`` in Airflow's ``providers_manager.py``)
without importing the hook; older tools call the hook's ``get_connection_form_widgets`` /
``get_ui_field_behaviour``. Both are built from :data:`FIELDS` and :data:`UI_FIELD_BEHAVIOUR` here.

The UI stores a field as the extra ``extra__google_cloud_operations__<field>`` or ``<field>``: the hook reads
both (and the google provider's ``extra__google_cloud_platform__`` prefix). Pure data: imported by
``get_provider_info`` on every Airflow start.
"""

from __future__ import annotations

from typing import Any

CONN_TYPE = "google_cloud_operations"
HOOK_NAME = "Google Cloud Operations"

# field -> (label, description, sensitive)
FIELDS: dict[str, tuple[str, str, bool]] = {
    "project": ("Project Id", "Default project (e.g. for housekeeping without project_id)", False),
    "key_path": ("Keyfile Path", "Path to a service account JSON key on the workers", False),
    "keyfile_dict": ("Keyfile JSON", "The service account JSON key itself", True),
    "credential_config_file": ("Credential Configuration File", "Workload identity federation: path or JSON", False),
    "scope": ("Scopes (comma separated)", "Default: https://www.googleapis.com/auth/cloud-platform", False),
    "impersonation_chain": ("Impersonation Chain", "Service account(s) to impersonate, comma separated", False),
    "quota_project_id": ("Quota Project Id", "Project billed for quota", False),
    "num_retries": ("Number of Retries", "Retries of transient errors per request", False),
    "endpoint": ("Endpoint", "host[:port] replacing every service host (a private endpoint)", False),
    "emulator_host": ("Emulator Host", "host:port of the Operations emulator (tests only)", False),
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden_fields": ["host", "schema", "login", "password", "port"],
    "relabeling": {},
    "placeholders": {
        "project": "my-project",
        "key_path": "/path/to/key.json",
        "impersonation_chain": "sa@my-project.iam.gserviceaccount.com",
        "endpoint": "private.googleapis.com",
        "emulator_host": "127.0.0.1:8765",
    },
}


def provider_connection_type(hook_class_name: str) -> dict[str, Any]:
    """The ``connection-types`` entry of the provider info (declarative form, Airflow ≥ 3.2)."""
    return {
        "hook-class-name": hook_class_name,
        "hook-name": HOOK_NAME,
        "connection-type": CONN_TYPE,
        "conn-fields": {
            name: {
                "label": label,
                "description": description,
                "schema": {"type": ["string", "null"], **({"format": "password"} if sensitive else {})},
            }
            for name, (label, description, sensitive) in FIELDS.items()
        },
        "ui-field-behaviour": {
            "hidden-fields": UI_FIELD_BEHAVIOUR["hidden_fields"],
            "relabeling": UI_FIELD_BEHAVIOUR["relabeling"],
            "placeholders": UI_FIELD_BEHAVIOUR["placeholders"],
        },
    }

"""The pure Operations library: no Airflow import anywhere below this package."""

from airflow_provider_gcp_ops.operations.services import ServiceVerbs, service_verbs

__all__ = ["ServiceVerbs", "service_verbs"]

"""Hooks of airflow-provider-gcp-ops."""

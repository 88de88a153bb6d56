"""Triggers of airflow-provider-gcp-ops."""

"""Operators of airflow-provider-gcp-ops."""

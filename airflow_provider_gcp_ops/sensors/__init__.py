"""Sensors of airflow-provider-gcp-ops."""

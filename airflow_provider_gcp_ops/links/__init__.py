"""Links of airflow-provider-gcp-ops."""

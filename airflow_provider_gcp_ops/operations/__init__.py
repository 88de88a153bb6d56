"""The pure Operations library: no Airflow import anywhere below this package."""

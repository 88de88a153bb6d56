"""The example DAG tests share the operators' ``dag.test()`` set-up (one migrated DB per session)."""

from __future__ import annotations

from operators.dagtest import airflow_db

__all__ = ["airflow_db"]

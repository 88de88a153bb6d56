"""Fixtures for the operator tests: a migrated Airflow DB (once per session) and the emulator as the hook's host."""

from __future__ import annotations

from .dagtest import airflow_db, trigger_events

__all__ = ["airflow_db", "trigger_events"]

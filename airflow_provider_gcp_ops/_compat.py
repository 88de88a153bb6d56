"""Airflow names whose home moved between 3.1 and 3.3, each resolved newest location first.

3.2 moved these into the Task SDK (``airflow.sdk.configuration``, ``airflow.sdk.exceptions``, ``airflow.sdk.types``);
3.1 has them only in core (``airflow.configuration``, ``airflow.exceptions``, ``airflow.models.taskinstancekey``).
On 3.3 the old ``airflow.exceptions`` names still import but emit ``DeprecatedImportWarning`` (a ``FutureWarning``),
so the SDK location is always tried first. The google provider's ``version_compat.py`` and
``apache-airflow-providers-common-compat`` resolve names the same way.

Cheap on purpose: operator and sensor modules import it on every DAG parse. Every module it touches is one that
``import airflow.sdk`` has loaded already (3.2+), or a small leaf module of core (3.1).
"""

from __future__ import annotations

try:
    from airflow.sdk.configuration import conf
except ImportError:  # Airflow 3.1
    from airflow.configuration import conf

try:
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSensorTimeout,
        AirflowSkipException,
        AirflowTaskTimeout,
        TaskDeferred,
    )
except ImportError:  # Airflow 3.1
    from airflow.exceptions import (  # type: ignore[attr-defined,no-redef]
        AirflowException,
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSensorTimeout,
        AirflowSkipException,
        AirflowTaskTimeout,
        TaskDeferred,
    )

try:
    from airflow.sdk.types import TaskInstanceKey
except ImportError:  # Airflow 3.1
    from airflow.models.taskinstancekey import TaskInstanceKey  # type: ignore[assignment]

__all__ = [
    "AirflowException",
    "AirflowFailException",
    "AirflowNotFoundException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "AirflowTaskTimeout",
    "TaskDeferred",
    "TaskInstanceKey",
    "conf",
]

"""``GoogleOperationsHook``: the Operations library with credentials from an Airflow connection.

It reads users' existing ``google_cloud_platform`` connections (``google_cloud_default``) by id, without
claiming that connection type. Sync methods for workers; ``a``-prefixed async twins for the triggerer, which
resolve the connection with ``aget_connection`` and build credentials off the event loop.

Emulator: ``$GCP_OPERATIONS_EMULATOR_HOST=host:port`` or the extra ``emulator_host`` sends every call over plain
HTTP to the emulator with a static token and no Google credentials at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Sequence
from typing import Any

from airflow.sdk import BaseHook

from airflow_provider_gcp_ops._compat import AirflowNotFoundException
from airflow_provider_gcp_ops.hooks.credentials import ConnectionSettings, build_credentials, parse_settings
from airflow_provider_gcp_ops.operations.async_client import AsyncOperationsClient
from airflow_provider_gcp_ops.operations.client_base import Timeouts, emulator_host_from_env
from airflow_provider_gcp_ops.operations.model import Operation
from airflow_provider_gcp_ops.operations.polling import PollSchedule
from airflow_provider_gcp_ops.operations.retry import DEFAULT_RETRY, RetryPolicy
from airflow_provider_gcp_ops.operations.sync_client import OperationsClient

DEFAULT_CONN_ID = "google_cloud_default"


class GoogleOperationsHook(BaseHook):
    """Get, list, cancel, delete and wait for Google Cloud long-running operations.

    :param gcp_conn_id: connection id; its extras hold credentials as for the google provider. When the
        default id does not exist, Application Default Credentials are used.
    :param impersonation_chain: a service account (or a chain, last one the target) to impersonate; overrides
        the connection's ``impersonation_chain`` extra.
    :param emulator_host: ``host:port`` of an Operations emulator; default ``$GCP_OPERATIONS_EMULATOR_HOST``,
        then the connection's ``emulator_host`` extra.
    """

    conn_name_attr = "gcp_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "google_cloud_operations"
    hook_name = "Google Cloud Operations"

    def __init__(
        self,
        gcp_conn_id: str = DEFAULT_CONN_ID,
        impersonation_chain: str | Sequence[str] | None = None,
        *,
        emulator_host: str | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        poll: PollSchedule | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.gcp_conn_id = gcp_conn_id
        self.impersonation_chain = impersonation_chain
        self._emulator_host = emulator_host
        self._timeouts = timeouts
        self._retry = retry
        self._poll = poll
        self._client: OperationsClient | None = None

    # -- connection --------------------------------------------------------------------------------------------
    def _settings_from(self, extras: dict[str, Any] | None) -> ConnectionSettings:
        return parse_settings(extras or {}, impersonation_chain=self.impersonation_chain)

    def _missing_ok(self) -> bool:
        return self.gcp_conn_id == DEFAULT_CONN_ID

    def get_settings(self) -> ConnectionSettings:
        try:
            conn = self.get_connection(self.gcp_conn_id)
        except AirflowNotFoundException:
            if not self._missing_ok():
                raise
            return self._settings_from(None)
        return self._settings_from(conn.extra_dejson)

    async def aget_settings(self) -> ConnectionSettings:
        try:
            conn = await self.aget_connection(self.gcp_conn_id)
        except AirflowNotFoundException:
            if not self._missing_ok():
                raise
            return self._settings_from(None)
        return self._settings_from(conn.extra_dejson)

    def _client_settings(self, settings: ConnectionSettings) -> dict[str, Any]:
        retry = self._retry
        if retry is None and settings.num_retries is not None:
            retry = dataclasses.replace(DEFAULT_RETRY, max_attempts=settings.num_retries + 1)
        return {
            "emulator_host": self._emulator_host or emulator_host_from_env() or settings.emulator_host,
            "endpoint": settings.endpoint,
            "timeouts": self._timeouts,
            "retry": retry,
            "poll": self._poll,
        }

    @staticmethod
    def _uses_emulator(options: dict[str, Any]) -> bool:
        return bool(options["emulator_host"])

    # -- sync ------------------------------------------------------------------------------------------------
    def get_conn(self) -> OperationsClient:
        """The sync client (built once per hook)."""
        if self._client is None:
            settings = self.get_settings()
            options = self._client_settings(settings)
            credentials = None if self._uses_emulator(options) else build_credentials(settings)[0]
            self._client = OperationsClient(credentials=credentials, **options)
        return self._client

    def get_operation(self, name: str, *, service: str | None = None, api_version: str | None = None) -> Operation:
        return self.get_conn().get(name, service=service, api_version=api_version)

    def list_operations(
        self,
        parent: str,
        *,
        service: str | None = None,
        api_version: str | None = None,
        filter: str | None = None,
        page_size: int | None = None,
        return_partial_success: bool = False,
        max_results: int | None = None,
    ) -> list[Operation]:
        pager = self.get_conn().list(
            parent,
            service=service,
            api_version=api_version,
            filter=filter,
            page_size=page_size,
            return_partial_success=return_partial_success,
            max_results=max_results,
        )
        return list(pager)

    def cancel_operation(self, name: str, *, service: str | None = None, api_version: str | None = None) -> None:
        self.get_conn().cancel(name, service=service, api_version=api_version)

    def delete_operation(self, name: str, *, service: str | None = None, api_version: str | None = None) -> None:
        self.get_conn().delete(name, service=service, api_version=api_version)

    def wait_for_operation(
        self,
        name: str,
        *,
        timeout: float | None = None,
        service: str | None = None,
        api_version: str | None = None,
    ) -> Operation:
        return self.get_conn().wait(name, timeout=timeout, service=service, api_version=api_version)

    # -- async (triggerer) ---------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def async_client(self, settings: ConnectionSettings | None = None) -> AsyncIterator[AsyncOperationsClient]:
        """An async client on the loop's shared connection pool; credentials are built off the loop.

        ``settings``: the connection already resolved with ``get_settings()``. A task that runs its own event loop
        resolves it before the loop starts: in a task process ``aget_connection`` does not reach the metastore on
        Airflow 3.1 (the task's comms have no ``asend``: the look-up ends in "isn't defined"), and on 3.3.1 it can
        raise ``DeadlockImminentError`` (apache/airflow#71891). The triggerer's comms have neither problem.
        """
        if settings is None:
            settings = await self.aget_settings()
        options = self._client_settings(settings)
        credentials = None
        if not self._uses_emulator(options):
            credentials, _ = await asyncio.to_thread(build_credentials, settings)
        async with AsyncOperationsClient(credentials=credentials, **options) as client:
            yield client

    async def aget_operation(
        self, name: str, *, service: str | None = None, api_version: str | None = None
    ) -> Operation:
        async with self.async_client() as client:
            return await client.get(name, service=service, api_version=api_version)

    async def acancel_operation(self, name: str, *, service: str | None = None, api_version: str | None = None) -> None:
        async with self.async_client() as client:
            await client.cancel(name, service=service, api_version=api_version)

    async def adelete_operation(self, name: str, *, service: str | None = None, api_version: str | None = None) -> None:
        async with self.async_client() as client:
            await client.delete(name, service=service, api_version=api_version)

    async def alist_operations(self, parent: str, **kw: Any) -> list[Operation]:
        async with self.async_client() as client:
            return [op async for op in client.list(parent, **kw)]

    async def await_for_operation(
        self,
        name: str,
        *,
        timeout: float | None = None,
        service: str | None = None,
        api_version: str | None = None,
    ) -> Operation:
        async with self.async_client() as client:
            return await client.wait(name, timeout=timeout, service=service, api_version=api_version)

    # -- UI --------------------------------------------------------------------------------------------------
    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": ["host", "schema", "login", "password", "port"],
            "relabeling": {},
            "placeholders": {
                "extra": '{"key_path": "/path/key.json"} or {"emulator_host": "127.0.0.1:8765"}; '
                "empty extras use Application Default Credentials",
            },
        }

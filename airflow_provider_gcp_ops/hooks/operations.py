"""``GoogleOperationsHook``: the Operations library with credentials from an Airflow connection.

It reads users' existing ``google_cloud_platform`` connections (``google_cloud_default``) by id, without
claiming that connection type. Sync methods for workers; ``a``-prefixed async twins for the triggerer, which
resolve the connection with ``aget_connection`` and build credentials off the event loop.

Emulator: ``$GCP_OPERATIONS_EMULATOR_HOST=host:port`` or the extra ``emulator_host`` sends every call over plain
HTTP to the emulator with a static token and no Google credentials at all; except when the connection's
service-account key names the emulator's token endpoint as its ``token_uri`` (then google-auth's real refresh
flow runs against the emulator). A key whose tokens come from Google is never used with an emulator.

Cheap to import (``airflow providers hooks`` and the connection screens import it): the clients, ``requests``,
``aiohttp`` and google-auth load on first use.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from airflow_provider_gcp_ops import connection_form
from airflow_provider_gcp_ops._compat import AirflowNotFoundException
from airflow_provider_gcp_ops.hooks.credentials import (
    ConnectionSettings,
    build_credentials,
    key_uses_emulator_tokens,
    parse_settings,
)

if TYPE_CHECKING:
    from airflow_provider_gcp_ops.operations.async_client import AsyncOperationsClient
    from airflow_provider_gcp_ops.operations.auth import AsyncTokenSource
    from airflow_provider_gcp_ops.operations.client_base import Timeouts
    from airflow_provider_gcp_ops.operations.model import Operation
    from airflow_provider_gcp_ops.operations.names import CollectionRef, OperationRef
    from airflow_provider_gcp_ops.operations.polling import PollSchedule
    from airflow_provider_gcp_ops.operations.retry import RetryPolicy
    from airflow_provider_gcp_ops.operations.sync_client import OperationPager, OperationsClient

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
    conn_type = connection_form.CONN_TYPE
    hook_name = connection_form.HOOK_NAME

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
        """The connection's settings, looked up at most once per connection and impersonation chain every
        ``loop_shared.CONNECTION_TTL_S`` seconds on this event loop (single flight; see :mod:`.loop_shared`)."""
        from airflow_provider_gcp_ops.hooks import loop_shared

        key = (self.gcp_conn_id, loop_shared.chain_key(self.impersonation_chain))
        settings: ConnectionSettings = await loop_shared.on_this_loop().settings.get(key, self._alookup_settings)
        return settings

    async def _alookup_settings(self) -> ConnectionSettings:
        try:
            conn = await self.aget_connection(self.gcp_conn_id)
        except AirflowNotFoundException:
            if not self._missing_ok():
                raise
            return self._settings_from(None)
        return self._settings_from(conn.extra_dejson)

    @property
    def project_id(self) -> str | None:
        """The connection's ``project`` extra: the default project of operators that need one."""
        return self.get_settings().project

    def _client_settings(self, settings: ConnectionSettings) -> dict[str, Any]:
        from airflow_provider_gcp_ops.operations.client_base import emulator_host_from_env
        from airflow_provider_gcp_ops.operations.retry import DEFAULT_RETRY

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
    def _credentials(settings: ConnectionSettings, options: dict[str, Any]) -> Any:
        """Credentials for the client; ``None`` (the emulator's static token) with an emulator, unless the
        connection's service-account key gets its tokens from that emulator (``token_uri``). Blocking."""
        emulator = options["emulator_host"]
        if emulator and not key_uses_emulator_tokens(settings, emulator):
            return None
        return build_credentials(settings)[0]

    # -- sync ------------------------------------------------------------------------------------------------
    def get_conn(self) -> OperationsClient:
        """The sync client (built once per hook)."""
        if self._client is None:
            from airflow_provider_gcp_ops.operations.sync_client import OperationsClient

            settings = self.get_settings()
            options = self._client_settings(settings)
            credentials = self._credentials(settings, options)
            self._client = OperationsClient(credentials=credentials, **options)
        return self._client

    def get_operation(
        self, name: str | OperationRef, *, service: str | None = None, api_version: str | None = None
    ) -> Operation:
        return self.get_conn().get(name, service=service, api_version=api_version)

    def list_operations(
        self,
        parent: str | CollectionRef,
        *,
        service: str | None = None,
        api_version: str | None = None,
        filter: str | None = None,
        page_size: int | None = None,
        return_partial_success: bool = False,
        max_results: int | None = None,
    ) -> list[Operation]:
        return list(
            self.operation_pager(
                parent,
                service=service,
                api_version=api_version,
                filter=filter,
                page_size=page_size,
                return_partial_success=return_partial_success,
                max_results=max_results,
            )
        )

    def operation_pager(self, parent: str | CollectionRef, **kw: Any) -> OperationPager:
        """The listing as it is read, page by page; its ``unreachable`` locations are known after iterating.
        Keywords as for :meth:`list_operations`."""
        return self.get_conn().list(parent, **kw)

    def cancel_operation(
        self, name: str | OperationRef, *, service: str | None = None, api_version: str | None = None
    ) -> None:
        self.get_conn().cancel(name, service=service, api_version=api_version)

    def quick_cancel(
        self, name: str | OperationRef, *, service: str | None = None, api_version: str | None = None
    ) -> None:
        """One best-effort cancel for the kill paths: 5 s connect / 10 s read, at most two attempts, within 15 s
        as a whole (``QUICK_CANCEL_*`` in :mod:`~airflow_provider_gcp_ops.operations.client_base`); never a wait.
        Through this hook's client (same session, same credentials) with those bounds for this call only."""
        client, timeout = self._quick()
        client.cancel(name, timeout=timeout, service=service, api_version=api_version)

    def quick_get(
        self, name: str | OperationRef, *, service: str | None = None, api_version: str | None = None
    ) -> Operation:
        """One GET within the quick cancel's bounds (best-effort reads that must not hold a task up: a link)."""
        client, timeout = self._quick()
        return client.get(name, timeout=timeout, service=service, api_version=api_version)

    def _quick(self) -> tuple[OperationsClient, float]:
        from airflow_provider_gcp_ops.operations.client_base import (
            QUICK_CANCEL_RETRY,
            QUICK_CANCEL_TIMEOUT_S,
            QUICK_CANCEL_TIMEOUTS,
        )

        return self.get_conn().with_options(
            timeouts=QUICK_CANCEL_TIMEOUTS, retry=QUICK_CANCEL_RETRY
        ), QUICK_CANCEL_TIMEOUT_S

    def delete_operation(
        self, name: str | OperationRef, *, service: str | None = None, api_version: str | None = None
    ) -> None:
        self.get_conn().delete(name, service=service, api_version=api_version)

    def wait_for_operation(
        self,
        name: str | OperationRef,
        *,
        timeout: float | None = None,
        service: str | None = None,
        api_version: str | None = None,
        poll: PollSchedule | None = None,
    ) -> Operation:
        """Until done or ``timeout`` seconds (then ``WaitTimeout``); ``poll``: this wait's schedule (default: the
        hook's)."""
        client = self.get_conn() if poll is None else self.get_conn().with_options(poll=poll)
        return client.wait(name, timeout=timeout, service=service, api_version=api_version)

    @staticmethod
    def check_start(
        method: str,
        path: str,
        *,
        service: str | None = None,
        api_version: str | None = None,
        body: Any = None,
        query: Any = None,
    ) -> tuple[str, str]:
        """Validate a method call before anything is read or sent; its ``(service, api_version)``.

        Raises the library's typed errors (:class:`~airflow_provider_gcp_ops.operations.errors.OperationsError`
        subclasses) naming the problem. Pure: no connection look-up, no credentials.
        """
        from airflow_provider_gcp_ops.operations.methods import method_request, resolve_method

        call = resolve_method(path, service=service, api_version=api_version)
        method_request(method, path, service=service, api_version=api_version, body=body, query=query)
        return call.service, call.api_version

    def start_operation(
        self,
        method: str,
        path: str,
        *,
        service: str | None = None,
        api_version: str | None = None,
        body: Any = None,
        query: Any = None,
        idempotent: bool = False,
    ) -> Operation:
        """Call a Google method that returns an Operation (``batches.create``) and return it as sent.

        A create is not idempotent: unless ``idempotent`` (a ``requestId`` the service deduplicates on, or a GET),
        only failures where nothing reached the server are retried (:func:`.methods.start_retry`, on top of the
        hook's retry policy), for this call only.
        """
        from airflow_provider_gcp_ops.operations.methods import start_retry

        client = self.get_conn()
        client = client.with_options(retry=start_retry(idempotent=idempotent, base=client.retry))
        return client.start(method, path, service=service, api_version=api_version, body=body, query=query)

    def is_transient(self, exc: BaseException) -> bool:
        """Whether this hook's retry policy counts ``exc`` as transient (worth another try later)."""
        return self.get_conn().retry.is_retryable(exc)

    # -- async (triggerer) ---------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def async_client(self, settings: ConnectionSettings | None = None) -> AsyncIterator[AsyncOperationsClient]:
        """An async client on the loop's shared connection pool; credentials are built off the loop.

        ``settings``: the connection already resolved with ``get_settings()``. A task that runs its own event loop
        resolves it before the loop starts: in a task process ``aget_connection`` does not reach the metastore on
        Airflow 3.1 (the task's comms have no ``asend``: the look-up ends in "isn't defined"), and on 3.3.1 it can
        raise ``DeadlockImminentError`` (apache/airflow#71891). The triggerer's comms have neither problem.
        """
        async with await self.aclient(settings) as client:
            yield client

    async def aclient(self, settings: ConnectionSettings | None = None) -> AsyncOperationsClient:
        """:meth:`async_client`'s client, not yet entered (``async with await hook.aclient() as client``). The
        client keeps no reference to the hook: a waiting trigger keeps neither alive (fewer objects for each
        full garbage collection to walk)."""
        from airflow_provider_gcp_ops.operations.async_client import AsyncOperationsClient

        if settings is None:
            settings = await self.aget_settings()
        options = self._client_settings(settings)
        tokens = await self._atoken_source(settings, options)
        return AsyncOperationsClient(token_source=tokens, **options)

    async def _atoken_source(self, settings: ConnectionSettings, options: dict[str, Any]) -> AsyncTokenSource | None:
        """The token source every client of this identity on this loop shares (built once, off the loop): one
        credentials object, one token, one refresh. ``None``: the emulator's static token."""
        from airflow_provider_gcp_ops.hooks import loop_shared
        from airflow_provider_gcp_ops.operations.auth import CredentialsTokenSource

        shared = loop_shared.on_this_loop()
        key = (self.gcp_conn_id, shared.fingerprint(settings, options["emulator_host"]))

        def build() -> AsyncTokenSource | None:
            credentials = self._credentials(settings, options)
            return None if credentials is None else CredentialsTokenSource(credentials)

        async def build_off_loop() -> AsyncTokenSource | None:
            return await asyncio.to_thread(build)

        tokens: AsyncTokenSource | None = await shared.tokens.get(key, build_off_loop)
        return tokens

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

    # -- UI: the connection form and its Test button --------------------------------------------------------
    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The form's extra fields as wtforms fields (Airflow < 3.2; newer ones read the provider info)."""
        from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
        from wtforms import PasswordField, StringField

        return {
            name: (PasswordField if secret else StringField)(
                label, description=description, widget=BS3PasswordFieldWidget() if secret else BS3TextFieldWidget()
            )
            for name, (label, description, secret) in connection_form.FIELDS.items()
        }

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {key: value.copy() for key, value in connection_form.UI_FIELD_BEHAVIOUR.items()}

    def test_connection(self) -> tuple[bool, str]:
        """The UI's Test button: the extras parse, the credentials yield a token, the endpoint answers.

        With Google's hosts: google-auth refreshes the credentials (a bad key, a refused impersonation or no ADC
        fails here) and nothing else is called, as no API is known to be enabled in every project. With an
        ``endpoint`` or the emulator, one GET of a probe operation that does not exist follows: NOT_FOUND proves
        the host is reachable and accepted the token (a wrong or refused token is 401/403).
        """
        from airflow_provider_gcp_ops.operations.errors import NotFound

        try:  # the Test button reports every failure as text: Airflow shows it next to the form
            settings = self.get_settings()
            client = self.get_conn()
            identity = "the emulator's static token"
            if client.base_url is None:
                from google.auth.transport.requests import Request

                credentials = build_credentials(settings)[0]
                credentials.refresh(Request())  # google-auth's transport: 120 s timeout per token request
                identity = _principal(credentials)
                if client.endpoint is None:
                    return True, f"Connection works: obtained an access token as {identity}"
            project = settings.project or _PROBE_PROJECT
            client.get(f"projects/{project}/locations/global/operations/{_PROBE_OPERATION}", service=_PROBE_SERVICE)
        except NotFound:
            where = client.base_url or client.endpoint
            return True, f"Connection works: {where} accepted {identity} (probe operation: NOT_FOUND, as expected)"
        except Exception as exc:  # CredentialsConfigError, google-auth's RefreshError, OperationsError, ...
            return False, f"{type(exc).__name__}: {exc}"
        return True, f"Connection works: {client.base_url or client.endpoint} answered"


def _principal(credentials: Any) -> str:
    """Who the token is for: a service account email when google-auth knows it."""
    for attr in ("service_account_email", "signer_email", "_target_principal"):
        value = getattr(credentials, attr, None)
        if isinstance(value, str) and "@" in value:
            return value
    return "Application Default Credentials"


# The Test button's probe: a name no operation has, on Data Lineage's single global host.
_PROBE_SERVICE = "datalineage"
_PROBE_PROJECT = "airflow-connection-test"
_PROBE_OPERATION = "airflow-connection-test"

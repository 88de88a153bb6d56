"""Google credentials from a connection's extras, exactly as ``google_cloud_platform`` connections hold them.

Keys (each also accepted with the prefix ``extra__google_cloud_platform__``, as older connections store them):
``key_path``, ``keyfile_dict``, ``credential_config_file``, ``scope``, ``project``, ``quota_project_id``,
``impersonation_chain``, ``num_retries``; plus our own ``emulator_host`` and ``endpoint``, also with the prefix
``extra__google_cloud_operations__`` (our connection form). URI connections carry every extra as a string
(``"num_retries": "5"``): those parse too. Without any key material: Application Default Credentials.

A credential extra this hook does not understand (the google provider's ``key_secret_name``: a key kept in
Secret Manager; ``is_anonymous``; the ``idp_*`` / ``client_*`` federation extras; or any unknown prefixed key) is
an :class:`UnsupportedCredentialExtraError` naming the extra: never a silent fall back to Application Default
Credentials, which would run the task as the worker's own identity.

No key material ever reaches a message: errors name the key, never its value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_gcp_ops.operations.auth import CLOUD_PLATFORM_SCOPE

LEGACY_PREFIX = "extra__google_cloud_platform__"
FORM_PREFIX = "extra__google_cloud_operations__"
PREFIXES = ("", LEGACY_PREFIX, FORM_PREFIX)

KNOWN_EXTRAS = frozenset(
    {
        "key_path",
        "keyfile_dict",
        "credential_config_file",
        "scope",
        "project",
        "quota_project_id",
        "impersonation_chain",
        "num_retries",
        "emulator_host",
        "endpoint",
    }
)
# google_cloud_platform extras that choose an identity, which this hook does not implement. See the google
# provider's GoogleBaseHook (airflow/providers/google/common/hooks/base_google.py in apache/airflow).
UNSUPPORTED_CREDENTIAL_EXTRAS = frozenset(
    {
        "key_secret_name",
        "key_secret_project_id",
        "is_anonymous",
        "idp_issuer_url",
        "idp_extra_parameters",
        "client_id",
        "client_secret",
    }
)


class CredentialsConfigError(ValueError):
    """A connection's credential extras are unusable (the message names the key, never its content)."""


class UnsupportedCredentialExtraError(CredentialsConfigError):
    """The connection sets a credential extra this hook does not implement (named; its value never shown)."""

    def __init__(self, extra: str) -> None:
        self.extra = extra
        super().__init__(
            f"connection extra {extra!r} is not supported by GoogleOperationsHook; refusing to fall back to "
            "Application Default Credentials. Use key_path, keyfile_dict, credential_config_file or "
            "impersonation_chain, or remove the extra"
        )


def _check_extras(extras: Mapping[str, Any]) -> None:
    """Refuse credential extras we do not understand (only set ones: forms store empty fields and ``false``)."""
    for key, value in extras.items():
        if value in (None, "", False) or (isinstance(value, str) and value.strip().lower() == "false"):
            continue
        prefix = next((p for p in (LEGACY_PREFIX, FORM_PREFIX) if key.startswith(p)), "")
        bare = key[len(prefix) :]
        if bare in UNSUPPORTED_CREDENTIAL_EXTRAS or (prefix and bare not in KNOWN_EXTRAS):
            raise UnsupportedCredentialExtraError(key)


@dataclass(frozen=True)
class ConnectionSettings:
    """What the hook reads from a connection, parsed and validated (no credentials built yet)."""

    key_path: str | None = None
    keyfile_dict: Mapping[str, Any] | None = field(default=None, repr=False)
    credential_config_file: str | Mapping[str, Any] | None = field(default=None, repr=False)
    scopes: tuple[str, ...] = (CLOUD_PLATFORM_SCOPE,)
    project: str | None = None
    quota_project_id: str | None = None
    impersonation_chain: tuple[str, ...] = ()
    num_retries: int | None = None
    emulator_host: str | None = None
    endpoint: str | None = None


def _get(extras: Mapping[str, Any], key: str) -> Any:
    for k in (prefix + key for prefix in PREFIXES):
        value = extras.get(k)
        if value not in (None, ""):
            return value
    return None


def parse_chain(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """An impersonation chain from a list or a comma-separated string; the last account is the target."""
    if value is None or value == "":
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    chain = tuple(str(item).strip() for item in items if str(item).strip())
    for account in chain:
        if "@" not in account or any(c.isspace() for c in account):
            raise CredentialsConfigError(f"impersonation_chain entries must be service account emails, got {account!r}")
    return chain


def parse_settings(
    extras: Mapping[str, Any], *, impersonation_chain: str | Sequence[str] | None = None
) -> ConnectionSettings:
    _check_extras(extras)
    keyfile = _get(extras, "keyfile_dict")
    if isinstance(keyfile, str):
        try:
            keyfile = json.loads(keyfile)
        except ValueError:
            raise CredentialsConfigError("extra 'keyfile_dict' is not valid JSON") from None
    if keyfile is not None and not isinstance(keyfile, Mapping):
        raise CredentialsConfigError("extra 'keyfile_dict' must be a JSON object")

    config_file = _get(extras, "credential_config_file")
    if isinstance(config_file, str) and config_file.lstrip().startswith("{"):
        try:
            config_file = json.loads(config_file)
        except ValueError:
            raise CredentialsConfigError("extra 'credential_config_file' is neither a path nor valid JSON") from None

    scope = _get(extras, "scope")
    scopes = tuple(s.strip() for s in scope.split(",") if s.strip()) if isinstance(scope, str) else None
    if isinstance(scope, list):
        scopes = tuple(str(s) for s in scope)

    retries = _get(extras, "num_retries")
    num_retries: int | None = None
    if retries is not None:
        try:
            num_retries = int(retries)
        except (TypeError, ValueError):
            raise CredentialsConfigError(f"extra 'num_retries' must be an integer, got {retries!r}") from None
        if num_retries < 0:
            raise CredentialsConfigError(f"extra 'num_retries' must be >= 0, got {num_retries}")

    chain = parse_chain(impersonation_chain) or parse_chain(_get(extras, "impersonation_chain"))
    return ConnectionSettings(
        key_path=_get(extras, "key_path"),
        keyfile_dict=keyfile,
        credential_config_file=config_file,
        scopes=scopes or (CLOUD_PLATFORM_SCOPE,),
        project=_get(extras, "project"),
        quota_project_id=_get(extras, "quota_project_id"),
        impersonation_chain=chain,
        num_retries=num_retries,
        emulator_host=_get(extras, "emulator_host"),
        endpoint=_get(extras, "endpoint"),
    )


def build_credentials(settings: ConnectionSettings) -> tuple[Any, str | None]:
    """google-auth credentials and the project they imply. Blocking (may read files, call metadata server)."""
    import google.auth
    from google.oauth2 import service_account

    scopes = list(settings.scopes)
    project: str | None = None
    if settings.key_path and settings.keyfile_dict:
        raise CredentialsConfigError("set only one of extras 'key_path' and 'keyfile_dict'")
    if settings.key_path:
        if settings.key_path.endswith(".p12"):
            raise CredentialsConfigError("extra 'key_path' points at a legacy .p12 key: use a JSON key file")
        credentials: Any = service_account.Credentials.from_service_account_file(settings.key_path, scopes=scopes)
        project = credentials.project_id
    elif settings.keyfile_dict:
        try:
            credentials = service_account.Credentials.from_service_account_info(
                dict(settings.keyfile_dict), scopes=scopes
            )
        except (ValueError, KeyError):
            raise CredentialsConfigError("extra 'keyfile_dict' is not a usable service account key") from None
        project = credentials.project_id
    elif isinstance(settings.credential_config_file, Mapping):
        credentials, project = google.auth.load_credentials_from_dict(
            dict(settings.credential_config_file), scopes=scopes
        )
    elif isinstance(settings.credential_config_file, str):
        credentials, project = google.auth.load_credentials_from_file(settings.credential_config_file, scopes=scopes)
    else:
        credentials, project = google.auth.default(scopes=scopes)

    if settings.impersonation_chain:
        from google.auth import impersonated_credentials

        credentials = impersonated_credentials.Credentials(
            source_credentials=credentials,
            target_principal=settings.impersonation_chain[-1],
            delegates=list(settings.impersonation_chain[:-1]) or None,
            target_scopes=scopes,
        )
    if settings.quota_project_id and hasattr(credentials, "with_quota_project"):
        credentials = credentials.with_quota_project(settings.quota_project_id)
    return credentials, settings.project or project


def key_uses_emulator_tokens(settings: ConnectionSettings, emulator_host: str) -> bool:
    """Whether the connection's service-account key takes its tokens from the emulator at ``emulator_host``
    (its ``token_uri`` is ``http://<emulator_host>/...``). Reads ``key_path`` when set (blocking)."""
    info: Any = settings.keyfile_dict
    if info is None and settings.key_path:
        try:
            with open(settings.key_path, encoding="utf-8") as handle:
                info = json.load(handle)
        except (OSError, ValueError):
            return False
    token_uri = info.get("token_uri") if isinstance(info, Mapping) else None
    return isinstance(token_uri, str) and token_uri.startswith(f"http://{emulator_host}/")

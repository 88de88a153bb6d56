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
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_gcp_ops.operations.auth import CLOUD_PLATFORM_SCOPE
from airflow_provider_gcp_ops.operations.client_base import emulator_base_url
from airflow_provider_gcp_ops.operations.names import validate_endpoint

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


# A service account key is ~2.3 KB, an external-account config smaller still: anything past this is not key
# material, and is refused before it is parsed (a 10 MB extra must not cost seconds).
MAX_KEY_BYTES = 64 * 1024
_PEM_KEY = re.compile(
    r"\s*-----BEGIN (?P<kind>(?:RSA |EC )?PRIVATE KEY)-----\r?\n[A-Za-z0-9+/=\r\n]+-----END (?P=kind)-----\s*"
)
# A project id (6-30 characters, AIP-122 style) or a project number.
_PROJECT = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]{1,20}", re.ASCII)
_KEY_STRINGS = ("private_key_id", "client_id", "token_uri", "project_id", "universe_domain")


def _bad(extra: str, problem: str) -> CredentialsConfigError:
    """The one configuration error: names the extra and the problem, never the value."""
    return CredentialsConfigError(f"connection extra {extra!r} {problem}")


def _text(extras: Mapping[str, Any], key: str) -> str | None:
    """A string extra (``None`` when unset); any other type is refused, naming the extra."""
    value = _get(extras, key)
    if value is None or isinstance(value, str):
        return value
    raise _bad(key, f"must be a string, got a {type(value).__name__}")


def _json_object(value: Any, extra: str) -> Mapping[str, Any]:
    """Key material as a JSON object: a bounded string that parses to an object, or a bounded mapping."""
    text = value if isinstance(value, str) else None
    if text is None and isinstance(value, Mapping):
        try:
            text = json.dumps(value)
        except (TypeError, ValueError, RecursionError):
            raise _bad(extra, "holds values that are not JSON") from None
    if text is None:
        raise _bad(extra, f"must be a JSON object, got a {type(value).__name__}")
    if len(text) > MAX_KEY_BYTES:
        raise _bad(extra, f"is larger than {MAX_KEY_BYTES} bytes: not key material")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise _bad(extra, "is not valid JSON") from None
    if not isinstance(data, Mapping):
        raise _bad(extra, "must be a JSON object")
    return data


def check_service_account_key(info: Mapping[str, Any], extra: str) -> None:
    """A service account key's fields, checked before google-auth sees them (its errors may quote the key)."""
    if info.get("type") != "service_account":
        raise _bad(extra, "is not a service account key (its 'type' is not 'service_account')")
    email = info.get("client_email")
    if not isinstance(email, str) or email.count("@") != 1 or any(c.isspace() for c in email):
        raise _bad(extra, "has no usable 'client_email'")
    key = info.get("private_key")
    if not isinstance(key, str) or not _PEM_KEY.fullmatch(key):
        raise _bad(extra, "has no usable 'private_key' (one PEM private key block and nothing else)")
    for name in _KEY_STRINGS:
        if info.get(name) is not None and not isinstance(info.get(name), str):
            raise _bad(extra, f"has a non-string {name!r}")


def _read_key_file(path: str, extra: str) -> Mapping[str, Any]:
    """A key or config file's JSON object, read with a size bound; errors name the extra, never the content."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_KEY_BYTES + 1)
    except OSError as exc:
        raise _bad(extra, f"names a file that cannot be read ({exc.__class__.__name__})") from None
    if len(raw) > MAX_KEY_BYTES:
        raise _bad(extra, f"names a file larger than {MAX_KEY_BYTES} bytes: not key material")
    try:
        return _json_object(raw.decode("utf-8"), extra)
    except UnicodeDecodeError:
        raise _bad(extra, "names a file that is not UTF-8 JSON") from None


def _check_extras(extras: Mapping[str, Any]) -> None:
    """Refuse credential extras we do not understand (only set ones: forms store empty fields and ``false``)."""
    if not isinstance(extras, Mapping):
        raise CredentialsConfigError(f"connection extras must be a JSON object, got a {type(extras).__name__}")
    for key, value in extras.items():
        if not isinstance(key, str):
            raise CredentialsConfigError("connection extras must have string keys")
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
    if not isinstance(value, str | list | tuple):
        raise _bad(
            "impersonation_chain", f"must be a list of emails or a comma-separated string, got {type(value).__name__}"
        )
    items = value.split(",") if isinstance(value, str) else list(value)
    if not all(isinstance(item, str) for item in items):
        raise _bad("impersonation_chain", "must hold service account emails (strings) only")
    chain = tuple(item.strip() for item in items if item.strip())
    for account in chain:
        if account.count("@") != 1 or any(c.isspace() for c in account) or len(account) > 320:
            raise CredentialsConfigError(
                f"impersonation_chain entries must be service account emails, got {account[:80]!r}"
            )
    return chain


def parse_settings(
    extras: Mapping[str, Any], *, impersonation_chain: str | Sequence[str] | None = None
) -> ConnectionSettings:
    _check_extras(extras)
    keyfile = _get(extras, "keyfile_dict")
    if keyfile is not None:
        keyfile = _json_object(keyfile, "keyfile_dict")
        check_service_account_key(keyfile, "keyfile_dict")

    config_file = _get(extras, "credential_config_file")
    if (isinstance(config_file, str) and config_file.lstrip().startswith("{")) or isinstance(config_file, Mapping):
        config_file = _json_object(config_file, "credential_config_file")
    elif config_file is not None and not isinstance(config_file, str):
        raise _bad("credential_config_file", f"must be a path or a JSON object, got a {type(config_file).__name__}")

    scope = _get(extras, "scope")
    scopes: tuple[str, ...] | None = None
    if isinstance(scope, str):
        scopes = tuple(s.strip() for s in scope.split(",") if s.strip())
    elif isinstance(scope, list) and all(isinstance(s, str) for s in scope):
        scopes = tuple(scope)
    elif scope is not None:
        raise _bad("scope", "must be a comma-separated string or a list of strings")

    retries = _get(extras, "num_retries")
    num_retries: int | None = None
    if retries is not None:
        if isinstance(retries, bool) or not isinstance(retries, int | str) or len(str(retries)) > 6:
            raise _bad("num_retries", "must be a small integer")
        try:
            num_retries = int(retries)
        except ValueError:
            raise _bad("num_retries", "must be an integer") from None
        if num_retries < 0:
            raise CredentialsConfigError(f"extra 'num_retries' must be >= 0, got {num_retries}")

    chain = parse_chain(impersonation_chain) or parse_chain(_get(extras, "impersonation_chain"))
    return ConnectionSettings(
        key_path=_text(extras, "key_path"),
        keyfile_dict=keyfile,
        credential_config_file=config_file,
        scopes=scopes or (CLOUD_PLATFORM_SCOPE,),
        project=_text(extras, "project"),
        quota_project_id=_quota_project(extras),
        impersonation_chain=chain,
        num_retries=num_retries,
        emulator_host=_emulator_host(extras),
        endpoint=_endpoint(extras),
    )


def _endpoint(extras: Mapping[str, Any]) -> str | None:
    value = _text(extras, "endpoint")
    if value is not None:
        try:
            validate_endpoint(value)
        except ValueError:
            raise _bad("endpoint", "must be 'host' or 'host:port' (no scheme, path or whitespace)") from None
    return value


def _quota_project(extras: Mapping[str, Any]) -> str | None:
    value = _text(extras, "quota_project_id")
    if value is not None and not _PROJECT.fullmatch(value):
        raise _bad("quota_project_id", "is not a project id or number")
    return value


def _emulator_host(extras: Mapping[str, Any]) -> str | None:
    value = _text(extras, "emulator_host")
    if value is not None:
        try:
            emulator_base_url(value)
        except ValueError:
            raise _bad("emulator_host", "must be 'host:port' (ASCII, port 1-65535, no scheme or path)") from None
    return value


def build_credentials(settings: ConnectionSettings) -> tuple[Any, str | None]:
    """google-auth credentials and the project they imply. Blocking (may read files, call metadata server)."""
    import google.auth
    from google.oauth2 import service_account

    from airflow_provider_gcp_ops.operations.redaction import install

    install()  # google-auth's DEBUG request logging must not carry our tokens

    scopes = list(settings.scopes)
    project: str | None = None
    if settings.key_path and settings.keyfile_dict:
        raise CredentialsConfigError("set only one of extras 'key_path' and 'keyfile_dict'")
    if settings.key_path:
        if settings.key_path.endswith(".p12"):
            raise CredentialsConfigError("extra 'key_path' points at a legacy .p12 key: use a JSON key file")
        info = _read_key_file(settings.key_path, "key_path")
        check_service_account_key(info, "key_path")
        credentials: Any = _guarded("key_path", service_account.Credentials.from_service_account_info, info, scopes)
        project = credentials.project_id
    elif settings.keyfile_dict:
        info = settings.keyfile_dict
        credentials = _guarded("keyfile_dict", service_account.Credentials.from_service_account_info, info, scopes)
        project = credentials.project_id
    elif settings.credential_config_file is not None:
        config = settings.credential_config_file
        if isinstance(config, str):
            config = _read_key_file(config, "credential_config_file")
        if config.get("type") == "service_account":
            check_service_account_key(config, "credential_config_file")
        credentials, project = _guarded(
            "credential_config_file", google.auth.load_credentials_from_dict, config, scopes
        )
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


def _guarded(extra: str, build: Any, info: Mapping[str, Any], scopes: list[str]) -> Any:
    """Call a google-auth constructor; any failure becomes the configuration error naming ``extra``. google-auth's
    own text is dropped: it can quote the key it could not parse."""
    try:
        return build(dict(info), scopes=scopes)
    except Exception as exc:
        raise _bad(extra, f"is not usable key material ({exc.__class__.__name__})") from None

"""Keep tokens out of log records that google-auth writes while we drive it.

google-auth logs each HTTP request it makes at DEBUG when the ``google`` logger is configured, with the request
headers in the record (``extra={"httpRequest": {"headers": ...}}``): for an impersonated identity that is the
source credentials' ``Authorization: Bearer ...``. Task logs are read by many people, so :func:`install` puts a
filter on google-auth's transport loggers that replaces credential headers and anything token-shaped in the
message with ``<redacted>``, at every level. Installed once, by whatever builds credentials for us.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

REDACTED = "<redacted>"
# The modules of google-auth that log requests, responses or token exchanges (google/auth/_helpers.py callers).
GOOGLE_AUTH_LOGGERS = (
    "google.auth.transport.requests",
    "google.auth.transport._http_client",
    "google.auth.transport.urllib3",
    "google.auth.transport._aiohttp_requests",
    "google.auth.aio.transport.aiohttp",
    "google.auth.impersonated_credentials",
    "google.auth.compute_engine._metadata",
    "google.oauth2._client",
    "google.auth._default",
)
_SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "x-goog-iam-authorization-token", "cookie"})
_TOKENISH = re.compile(
    r"(?i)(bearer\s+)[^\s'\",}]+|ya29\.[A-Za-z0-9_\-.]+|(\"?(?:access_token|id_token|refresh_token|assertion)\"?\s*[:=]\s*\"?)[^\s'\",&}]+"
)


def scrub(text: str) -> str:
    """``text`` with bearer tokens, ``ya29.`` tokens and token fields replaced by :data:`REDACTED`."""
    return _TOKENISH.sub(lambda m: (m.group(1) or m.group(2) or "") + REDACTED, text)


def _headers(headers: Any) -> Any:
    if not isinstance(headers, Mapping):
        return headers
    return {k: REDACTED if str(k).lower() in _SENSITIVE_HEADERS else v for k, v in headers.items()}


class SecretFilter(logging.Filter):
    """Redacts credential headers in ``httpRequest``/``httpResponse`` extras and token-shaped text in messages."""

    def filter(self, record: logging.LogRecord) -> bool:
        for attr in ("httpRequest", "httpResponse"):
            data = getattr(record, attr, None)
            if isinstance(data, Mapping):
                cleaned = dict(data)
                cleaned["headers"] = _headers(data.get("headers"))
                setattr(record, attr, cleaned)
        try:
            message = record.getMessage()
        except Exception:  # a record that cannot format: keep nothing of its arguments
            message = str(record.msg)
        cleaned_message = scrub(message)
        if cleaned_message != message or record.args:
            record.msg, record.args = cleaned_message, None
        return True


_FILTER = SecretFilter()


def install() -> None:
    """Put :class:`SecretFilter` on google-auth's loggers (idempotent: a logger holds a filter once)."""
    for name in GOOGLE_AUTH_LOGGERS:
        logging.getLogger(name).addFilter(_FILTER)

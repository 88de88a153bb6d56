"""How Google writes things on the wire: JSON bodies, timestamps, durations, error shapes, HTML error pages.

Everything here is pure (no I/O, no state) so the route handlers stay short.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_gcp_ops.operations.codes import RpcCode

JSON_MEDIA_TYPE = "application/json; charset=UTF-8"
HTML_MEDIA_TYPE = "text/html; charset=UTF-8"

# Headers Google's front end (ESF) puts on every JSON answer, as recorded in tests/fixtures/recorded.
GOOGLE_HEADERS: Mapping[str, str] = {
    "server": "ESF",
    "vary": "Origin, X-Origin, Referer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "SAMEORIGIN",
    "x-xss-protection": "0",
}

ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"

_DURATION = re.compile(r"^(-?)(\d{1,12})(?:\.(\d{1,9}))?s$")


def dumps(value: object) -> bytes:
    """JSON as Google's REST front end writes it: pretty-printed with two spaces, non-ASCII kept."""
    return json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8")


def rfc3339(epoch_s: float) -> str:
    """``2024-04-25T01:58:35.886675Z``: UTC, microseconds, a ``Z`` suffix."""
    moment = _dt.datetime.fromtimestamp(epoch_s, tz=_dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_duration(seconds: float) -> str:
    """A ``google.protobuf.Duration`` in JSON: ``"2s"``, ``"0.500s"``."""
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{seconds:.3f}".rstrip("0") + "s"


def parse_duration(text: str) -> float:
    """Parse a JSON ``google.protobuf.Duration`` (``"10s"``, ``"1.5s"``). Raises ``ValueError``."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f'invalid duration {text!r}: expected e.g. "10s" or "1.5s"')
    sign, whole, frac = match.groups()
    value = int(whole) + (int(frac) / 10 ** len(frac) if frac else 0.0)
    return -value if sign else value


def retry_after_header(seconds: float) -> str:
    """HTTP ``Retry-After`` takes whole seconds: round up so a client never retries too early."""
    return str(max(0, math.ceil(seconds)))


def error_info(
    reason: str, domain: str = "googleapis.com", metadata: Mapping[str, str] | None = None
) -> dict[str, Any]:
    detail: dict[str, Any] = {"@type": ERROR_INFO, "reason": reason, "domain": domain}
    if metadata:
        detail["metadata"] = dict(metadata)
    return detail


def retry_info(seconds: float) -> dict[str, Any]:
    return {"@type": RETRY_INFO, "retryDelay": format_duration(seconds)}


def bad_request(field: str, description: str) -> dict[str, Any]:
    return {"@type": BAD_REQUEST, "fieldViolations": [{"field": field, "description": description}]}


def error_body(code: RpcCode, message: str, details: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """``{"error": {"code": <HTTP status>, "message", "status": "<RPC NAME>", "details": [...]}}``."""
    error: dict[str, Any] = {"code": code.http_status, "message": message, "status": code.name}
    if details:
        error["details"] = [dict(d) for d in details]
    return {"error": error}


_HTML_PAGE = """<!DOCTYPE html>
<html lang=en>
  <meta charset=utf-8>
  <meta name=viewport content="initial-scale=1, minimum-scale=1, width=device-width">
  <title>Error {status} ({title})!!1</title>
  <a href=//www.google.com/><span id=logo aria-label=Google></span></a>
  <p><b>{status}.</b> <ins>That\u2019s an error.</ins>
  <p>{text}  <ins>That\u2019s all we know.</ins>
"""


def html_error_page(status: int, path: str = "") -> bytes:
    """The HTML page Google's front end (GFE) answers with for unmapped URLs (404) and proxy errors (502)."""
    if status == 404:
        title, text = "Not Found", f"The requested URL <code>{_html_escape(path)}</code> was not found on this server."
    elif status == 502:
        title = "Server Error"
        text = (
            "The server encountered a temporary error and could not complete your request."
            "<p>Please try again in 30 seconds."
        )
    else:
        title, text = "Error", "The server could not complete your request."
    return _HTML_PAGE.format(status=status, title=title, text=text).encode("utf-8")


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")

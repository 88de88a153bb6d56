"""Every exception the Operations library raises, and the one place that turns an HTTP error into one.

Why a class per rpc code: callers (operators, triggers, the retry policy) decide on the *kind* of failure
(``except NotFound``), never on strings. The kind comes from the body's ``error.status`` name first, because
it is the server's own statement (a 400 may be ``FAILED_PRECONDITION`` or ``OUT_OF_RANGE``), and from the
HTTP status second (``codes.HTTP_TO_RPC``), for bodies that name nothing (a proxy's HTML 502).

Messages are one line and never carry secrets: URLs lose their query string and userinfo, and no header is
ever quoted (a bearer token lives in a header).
"""

from __future__ import annotations

import email.utils
import html
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar
from urllib.parse import urlsplit

from airflow_provider_gcp_ops.operations.codes import HTTP_TO_RPC, RpcCode

__all__ = [
    "Aborted",
    "AlreadyExists",
    "ApiError",
    "Cancelled",
    "ConnectionFailed",
    "DataLoss",
    "DeadlineExceeded",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "InvalidOperationNameError",
    "MalformedResponseError",
    "NotFound",
    "OperationsError",
    "OutOfRange",
    "PermissionDenied",
    "RequestTimeout",
    "ResourceExhausted",
    "TransportError",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Unknown",
    "WaitTimeout",
    "error_class_for",
    "error_from_response",
    "header_value",
    "parse_retry_after",
    "safe_url",
    "unimplemented_verb",
]

_MAX_MESSAGE = 1000
_SNIPPET = 200


class OperationsError(Exception):
    """Base of everything the library raises."""


class InvalidOperationNameError(OperationsError, ValueError):
    """An operation name, collection or URL that the library refuses to build a request from.

    ``value`` is the raw input; the message quotes it with ``!r`` (query strings and userinfo redacted, very
    long inputs shortened), so the message is safe to log.
    """

    def __init__(self, message: str, value: object = None) -> None:
        super().__init__(message)
        self.value = value


class MalformedResponseError(OperationsError, ValueError):
    """A 2xx response whose body is not what the Operations API promises (not JSON, not an object, no name)."""


def safe_url(url: str | None) -> str | None:
    """``url`` without query string, fragment or userinfo: the only form of a URL that goes into messages."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return url.split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1]
    if not parts.scheme or not host:
        return url.split("?", 1)[0].split("#", 1)[0]
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return f"{parts.scheme}://{netloc}{parts.path}"


def _one_line(text: str, limit: int = _MAX_MESSAGE) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _clean_url(method: str | None, url: str | None) -> str | None:
    """Sanitise ``url``; also accept ``"GET https://..."`` (a ``describe()`` string) without repeating the method."""
    if url and method and url.startswith(method + " "):
        url = url[len(method) + 1 :]
    return safe_url(url)


def _where(method: str | None, url: str | None) -> str:
    parts = [p for p in (method, url) if p]
    return f" ({' '.join(parts)})" if parts else ""


def _rebuild(cls: type[OperationsError], state: dict[str, Any]) -> OperationsError:
    exc = cls.__new__(cls)
    Exception.__init__(exc, *state.pop("__args__"))
    exc.__dict__.update(state)
    return exc


class _Picklable(OperationsError):
    """Keyword-only constructors do not survive ``pickle``'s default ``cls(*args)``: rebuild from state."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), {"__args__": self.args, **self.__dict__}))


class ApiError(_Picklable):
    """The server (or the service table) refused a call.

    ``http_status``: the HTTP status, ``None`` for errors raised locally (e.g. a verb the table says is
    missing). ``rpc_status``: the rpc code name (``"NOT_FOUND"``). ``reason``/``domain``: from the first
    ``google.rpc.ErrorInfo`` detail. ``retry_delay``: seconds the server asked us to wait (``RetryInfo`` or
    ``Retry-After``, the larger of both). ``url``: never with a query string.
    """

    code: ClassVar[RpcCode] = RpcCode.UNKNOWN

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        rpc_status: str | None = None,
        reason: str | None = None,
        domain: str | None = None,
        retry_delay: float | None = None,
        method: str | None = None,
        url: str | None = None,
        details: Iterable[Mapping[str, Any]] = (),
    ) -> None:
        self.message = message
        self.http_status = http_status
        self.rpc_status = rpc_status or self.code.name
        self.reason = reason
        self.domain = domain
        self.retry_delay = retry_delay
        self.method = method
        self.url = _clean_url(method, url)
        self.details: tuple[dict[str, Any], ...] = tuple(dict(d) for d in details)
        super().__init__(self._render())

    def _render(self) -> str:
        head = f"{self.http_status} {self.rpc_status}" if self.http_status is not None else self.rpc_status
        return _one_line(f"{head}: {self.message}") + _where(self.method, self.url)

    def __str__(self) -> str:
        return self._render()

    @property
    def rpc_code(self) -> RpcCode | None:
        """The rpc code named by ``rpc_status`` (``None`` for a name this library does not know)."""
        return RpcCode.parse(self.rpc_status)


class Cancelled(ApiError):
    code = RpcCode.CANCELLED


class Unknown(ApiError):
    code = RpcCode.UNKNOWN


class InvalidArgument(ApiError):
    code = RpcCode.INVALID_ARGUMENT


class DeadlineExceeded(ApiError):
    code = RpcCode.DEADLINE_EXCEEDED


class NotFound(ApiError):
    code = RpcCode.NOT_FOUND


class AlreadyExists(ApiError):
    code = RpcCode.ALREADY_EXISTS


class PermissionDenied(ApiError):
    code = RpcCode.PERMISSION_DENIED


class ResourceExhausted(ApiError):
    code = RpcCode.RESOURCE_EXHAUSTED


class FailedPrecondition(ApiError):
    code = RpcCode.FAILED_PRECONDITION


class Aborted(ApiError):
    code = RpcCode.ABORTED


class OutOfRange(ApiError):
    code = RpcCode.OUT_OF_RANGE


class Unimplemented(ApiError):
    code = RpcCode.UNIMPLEMENTED


class Internal(ApiError):
    code = RpcCode.INTERNAL


class Unavailable(ApiError):
    code = RpcCode.UNAVAILABLE


class DataLoss(ApiError):
    code = RpcCode.DATA_LOSS


class Unauthenticated(ApiError):
    code = RpcCode.UNAUTHENTICATED


_BY_CODE: dict[RpcCode, type[ApiError]] = {
    cls.code: cls
    for cls in (
        Cancelled,
        Unknown,
        InvalidArgument,
        DeadlineExceeded,
        NotFound,
        AlreadyExists,
        PermissionDenied,
        ResourceExhausted,
        FailedPrecondition,
        Aborted,
        OutOfRange,
        Unimplemented,
        Internal,
        Unavailable,
        DataLoss,
        Unauthenticated,
    )
}


def error_class_for(code: RpcCode) -> type[ApiError]:
    """The exception class of an rpc code (``OK`` has none: ``ApiError``)."""
    return _BY_CODE.get(code, ApiError)


class TransportError(_Picklable):
    """The request never got an HTTP answer (connection refused/reset, DNS, TLS, timeout)."""

    def __init__(self, message: str, *, method: str | None = None, url: str | None = None) -> None:
        self.message = message
        self.method = method
        self.url = _clean_url(method, url)
        super().__init__(_one_line(message) + _where(method, self.url))


class ConnectionFailed(TransportError):
    """Connection refused, reset or otherwise broken before a response arrived."""


class RequestTimeout(TransportError):
    """Connect or read timeout."""


class WaitTimeout(_Picklable):
    """The caller's wait deadline passed before the operation finished.

    ``operation`` is the last ``Operation`` seen (``None`` if no poll succeeded): the caller decides whether to
    cancel it. The operation itself is not affected.
    """

    def __init__(self, message: str, *, operation: Any = None) -> None:
        self.operation = operation
        super().__init__(_one_line(message))


def unimplemented_verb(
    service_title: str,
    verb: str,
    *,
    method: str | None = None,
    url: str | None = None,
) -> Unimplemented:
    """The error for a verb the service table marks as missing, raised before any request is sent."""
    verb_name = str(getattr(verb, "value", verb))
    return Unimplemented(
        f"{service_title} does not support the {verb_name!r} operations verb "
        "(from the service table; no request was sent)",
        http_status=None,
        rpc_status=RpcCode.UNIMPLEMENTED.name,
        method=method,
        url=url,
    )


def header_value(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A header's value, looked up case-insensitively in any mapping (plain dicts included)."""
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == wanted:
            return str(value)
    return None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` (RFC 9110: delay-seconds or an HTTP-date) in seconds; ``None`` if absent/unusable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        seconds = float(text)
        return seconds if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now or datetime.now(timezone.utc)
    return max(0.0, (when - current).total_seconds())


def _duration_seconds(value: object) -> float | None:
    """A ``google.protobuf.Duration`` in JSON (``"1.5s"``) or object form (``{"seconds", "nanos"}``)."""
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d{1,9})?)s\s*", value)
        seconds = float(match.group(1)) if match else math.inf
        return seconds if math.isfinite(seconds) else None
    if isinstance(value, Mapping):
        try:
            seconds = float(value.get("seconds", 0) or 0) + float(value.get("nanos", 0) or 0) / 1e9
        except (TypeError, ValueError, OverflowError):  # OverflowError: an int too large for a float
            return None
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    return None


def _strip_markup(text: str) -> str:
    text = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", " ", text)
    text = re.sub(r"(?s)<[^>]*>", " ", text)
    return " ".join(html.unescape(text).split())


def _decode(body: bytes | str | None) -> str:
    if body is None:
        return ""
    if isinstance(body, str):
        return body
    return body.decode("utf-8", "replace")


def _error_object(data: Any) -> Mapping[str, Any] | None:
    if isinstance(data, list) and data:  # some front ends wrap the error in a one-element list
        data = data[0]
    if isinstance(data, Mapping):
        err = data.get("error")
        if isinstance(err, Mapping):
            return err
        if isinstance(err, str):  # OAuth-style {"error": "invalid_grant", "error_description": "..."}
            description = data.get("error_description")
            return {"message": f"{err}: {description}" if isinstance(description, str) else err, "reason": err}
    return None


@dataclass
class _Parsed:
    """What an error body says (all optional)."""

    message: str
    rpc: RpcCode | None = None
    reason: str | None = None
    domain: str | None = None
    details: list[Mapping[str, Any]] = field(default_factory=list)
    server_delay: float | None = None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _parse_google_error(status: int, err: Mapping[str, Any]) -> _Parsed:
    """``{"code", "message", "status", "details": [ErrorInfo, RetryInfo, ...]}`` (AIP-193)."""
    raw_message = err.get("message")
    parsed = _Parsed(raw_message if isinstance(raw_message, str) and raw_message.strip() else "")
    raw_status = err.get("status")
    if isinstance(raw_status, str) and raw_status.strip() and not raw_status.strip().isdigit():
        code = RpcCode.parse(raw_status)
        if code is not None and code is not RpcCode.OK:
            parsed.rpc = code
    raw_details = err.get("details")
    if isinstance(raw_details, list):
        parsed.details = [d for d in raw_details if isinstance(d, Mapping)]
    for detail in parsed.details:
        kind = str(detail.get("@type", ""))
        if kind.endswith("google.rpc.ErrorInfo") and parsed.reason is None:
            parsed.reason = _str_or_none(detail.get("reason"))
            parsed.domain = _str_or_none(detail.get("domain"))
        elif kind.endswith("google.rpc.RetryInfo") and parsed.server_delay is None:
            parsed.server_delay = _duration_seconds(detail.get("retryDelay"))
    if parsed.reason is None:
        legacy = err.get("errors")  # v1-style [{"reason": "notFound", "domain": "global", ...}]
        if isinstance(legacy, list) and legacy and isinstance(legacy[0], Mapping):
            parsed.reason = _str_or_none(legacy[0].get("reason"))
            parsed.domain = _str_or_none(legacy[0].get("domain"))
        else:
            parsed.reason = _str_or_none(err.get("reason"))
    if not parsed.message:
        parsed.message = f"HTTP {status} with an error body that has no message"
    return parsed


def _parse_body(status: int, headers: Mapping[str, str] | None, text: str) -> _Parsed:
    data: Any = None
    if text.strip():
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than json's recursion allows
            data = None
    err = _error_object(data)
    if err is not None:
        return _parse_google_error(status, err)
    if data is not None:
        return _Parsed(f"HTTP {status} with a JSON body that is not a Google error: {_one_line(text, _SNIPPET)}")
    if text.strip():
        content_type = header_value(headers, "content-type") or "no content type"
        snippet = _strip_markup(text)[:_SNIPPET] or "(only markup)"
        return _Parsed(f"HTTP {status} with a non-JSON body ({_one_line(content_type, 80)}): {snippet}")
    return _Parsed(f"HTTP {status} with an empty body")


def error_from_response(
    status: int,
    headers: Mapping[str, str] | None,
    body: bytes | str | None,
    *,
    method: str | None,
    url: str | None,
    now: datetime | None = None,
) -> ApiError:
    """Build (do not raise) the typed error for a non-2xx response.

    Works on any body: Google's ``{"error": {...}}``, a list-wrapped one, an OAuth ``{"error": "..."}``, an
    empty body, or a proxy's HTML page (then the message says the body was not JSON and quotes its text,
    tags stripped, first 200 characters). The class comes from the body's ``status`` name, else from the HTTP
    status. ``now`` is only for tests of HTTP-date ``Retry-After`` values.
    """
    parsed = _parse_body(status, headers, _decode(body))
    rpc = parsed.rpc if parsed.rpc is not None else HTTP_TO_RPC.get(status, RpcCode.UNKNOWN)
    header_delay = parse_retry_after(header_value(headers, "retry-after"), now=now)
    delays = [d for d in (parsed.server_delay, header_delay) if d is not None]
    return error_class_for(rpc)(
        parsed.message,
        http_status=status,
        rpc_status=rpc.name,
        reason=parsed.reason,
        domain=parsed.domain,
        retry_delay=max(delays) if delays else None,
        method=method,
        url=url,
        details=parsed.details,
    )

"""Calls to a Google REST *method* that starts a long-running operation (``batches.create``, ``databases.restore``).

``StartOperationOperator`` lets a user name any method by path (``v1/projects/p/locations/r/batches``) or by
REST URL, so this module is held to the same rule as :mod:`.names`: the host never comes from free text except a
``*.googleapis.com`` host the service table lists for the row, or an explicit ``endpoint=`` (configuration).
Every input is validated before anything is sent, and a rejection is a typed
:class:`~.errors.InvalidOperationNameError` quoting the input (query strings redacted).

Retrying the call is the other decision made here. A create is not idempotent: if the server received the
request and only the answer was lost, a blind retry starts a second batch, cluster or restore. So
:class:`StartRetryPolicy` retries only what proves nothing was done:

- HTTP 429 ``RESOURCE_EXHAUSTED`` (the quota front end refused the call before the method ran);
- a connection that could not be *opened* (refused, DNS failure, connect timeout, no pooled connection free):
  no request byte left the client.

Everything else (503, 500, a reset or a read timeout after the request was written) may have started the work
and fails the call. When the caller passes a ``request_id`` the method deduplicates on it (Dataproc, AlloyDB,
Data Fusion and others document ``requestId`` for exactly this), so the client's normal idempotent policy applies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Final
from urllib.parse import quote, unquote

from .core import HttpRequest
from .errors import ApiError, InvalidOperationNameError, TransportError
from .names import _bad_char, _check_host, _check_segments, _fail, _location_of, validate_endpoint
from .retry import DEFAULT_RETRY, RetryPolicy
from .services import ServiceSpec, UnknownServiceError, get_service

__all__ = [
    "METHODS",
    "START_RETRY",
    "MethodCall",
    "StartRetryPolicy",
    "failed_before_send",
    "method_request",
    "resolve_method",
    "start_retry",
]

METHODS: Final = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})
_WITH_BODY: Final = frozenset({"POST", "PATCH", "PUT"})
MAX_PATH_LENGTH: Final = 2048
MAX_BODY_BYTES: Final = 10 * 1024 * 1024  # Google's own limit for a JSON request body is of this order
_WHAT: Final = "method path"
_VERSION = re.compile(r"v\d+(?:(?:alpha|beta)\d*)?")
_CUSTOM_VERB = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_QUERY_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,127}")
_URL = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<path>[^?#]*)(?P<rest>[?#].*)?", re.DOTALL
)
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class MethodCall:
    """A validated method call: which row, version, host, resource path (unescaped) and custom verb."""

    service: str
    api_version: str
    host: str
    resource: str  # "projects/p/locations/r/batches", unescaped
    custom_verb: str | None  # "restore" for ".../databases:restore"

    @property
    def path(self) -> str:
        encoded = "/".join(quote(seg, safe="") for seg in self.resource.split("/"))
        suffix = f":{self.custom_verb}" if self.custom_verb else ""
        return f"/{self.api_version}/{encoded}{suffix}"


def _split_verb(last: str, value: object) -> tuple[str, str | None]:
    """``"databases:restore"`` → ``("databases", "restore")``; a ``:`` elsewhere is refused."""
    if ":" not in last:
        return last, None
    head, _, verb = last.partition(":")
    if not head or not _CUSTOM_VERB.fullmatch(verb):
        raise _fail(value, f"last segment {last!r} must be 'collection' or 'collection:verb'", _WHAT)
    return head, verb


def _parse_url(value: str) -> tuple[ServiceSpec, str, str, list[str]]:
    """A REST URL: https only, host from the service table, no query or fragment (pass ``query=``)."""
    match = _URL.fullmatch(value)
    if match is None:
        raise _fail(value, "not a valid URL", _WHAT)
    if match.group("scheme").lower() != "https":
        raise _fail(value, "only https:// URLs are accepted", _WHAT)
    if match.group("rest"):
        raise _fail(value, "the URL has a query string or fragment; pass query parameters as query=", _WHAT)
    authority = match.group("authority")
    spec = _check_host(authority, value, _WHAT)
    host = authority.partition(":")[0].lower()
    raw = match.group("path").split("/")
    if len(raw) < 3 or raw[0] != "":
        raise _fail(value, "the URL path must be /{version}/{resource path}", _WHAT)
    segments = []
    for seg in raw[2:]:
        if _PERCENT.search(seg):
            raise _fail(value, f"segment {seg!r} has a malformed percent escape", _WHAT)
        try:
            decoded = unquote(seg, errors="strict")
        except UnicodeDecodeError:
            raise _fail(value, f"segment {seg!r} does not decode as UTF-8", _WHAT) from None
        if "/" in decoded:
            raise _fail(value, f"segment {seg!r} has an encoded '/'", _WHAT)
        segments.append(decoded)
    return spec, host, raw[1], segments


def _parse_path(value: str) -> tuple[str, list[str]]:
    """``v1/projects/p/locations/r/batches`` (one leading ``/`` allowed) → version, segments."""
    text = value[1:] if value.startswith("/") else value
    if "?" in text or "#" in text:
        raise _fail(value, "contains '?' or '#'; pass query parameters as query=", _WHAT)
    version, sep, rest = text.partition("/")
    if not sep or not rest:
        raise _fail(value, "must be {version}/{resource path}, e.g. 'v1/projects/p/locations/r/batches'", _WHAT)
    return version, rest.split("/")


def resolve_method(
    path: str,
    *,
    service: str | None = None,
    api_version: str | None = None,
    endpoint: str | None = None,
) -> MethodCall:
    """Validate a method given as ``{version}/{resource path}[:verb]`` or as an https REST URL.

    A relative path needs ``service=`` (nothing else says which host); a URL's host must be one the row lists
    and then selects the row. ``api_version``, when given, must agree with the path's version. The host is the
    URL's, else ``endpoint``, else the row's endpoint for the path's ``locations/*``/``regions/*`` value.
    """
    if not isinstance(path, str):
        raise _fail(path, f"expected a string, got {type(path).__name__}", _WHAT)
    if not path:
        raise _fail(path, "the path is empty", _WHAT)
    if len(path) > MAX_PATH_LENGTH:
        raise _fail(path, f"longer than {MAX_PATH_LENGTH} characters", _WHAT)
    problem = _bad_char(path)
    if problem:
        raise _fail(path, problem, _WHAT)

    url_spec: ServiceSpec | None = None
    url_host: str | None = None
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", path):
        url_spec, url_host, version, segments = _parse_url(path)
    elif "://" in path:
        raise _fail(path, "not a valid URL", _WHAT)
    elif path.startswith("//"):
        raise _fail(path, "a full resource name names a resource, not a method; pass a path or a URL", _WHAT)
    else:
        version, segments = _parse_path(path)

    if not _VERSION.fullmatch(version):
        raise _fail(path, f"{version!r} is not an API version (like 'v1' or 'v1beta1')", _WHAT)
    if not segments or segments == [""]:
        raise _fail(path, "has no resource path after the version", _WHAT)
    last, verb = _split_verb(segments[-1], path)
    segments = [*segments[:-1], last]
    resource = "/".join(segments)
    _check_segments(resource, path, _WHAT)
    if any(":" in seg for seg in segments):
        raise _fail(path, "a ':' may only introduce the custom verb of the last segment", _WHAT)

    spec = _choose_spec(url_spec, service, path)
    if api_version is not None and api_version != version:
        raise _fail(path, f"the path has version {version!r} but api_version={api_version!r}", _WHAT)
    if version not in spec.versions:
        raise _fail(path, f"{spec.title} has no API version {version!r} (known: {', '.join(spec.versions)})", _WHAT)
    host = _choose_host(spec, url_host, endpoint, segments, path)
    return MethodCall(service=spec.key, api_version=version, host=host, resource=resource, custom_verb=verb)


def _choose_spec(url_spec: ServiceSpec | None, service: str | None, value: object) -> ServiceSpec:
    if service is None:
        if url_spec is None:
            raise _fail(value, "a relative method path needs service= (which service's host to call)", _WHAT)
        return url_spec
    try:
        chosen = get_service(service)
    except UnknownServiceError as exc:
        raise _fail(value, str(exc), _WHAT) from None
    if url_spec is not None and url_spec.key != chosen.key:
        raise _fail(value, f"its host belongs to service {url_spec.key!r}, not {chosen.key!r}", _WHAT)
    return chosen


def _choose_host(
    spec: ServiceSpec, url_host: str | None, endpoint: str | None, segments: list[str], value: object
) -> str:
    if endpoint is not None:
        return validate_endpoint(endpoint)
    if url_host is not None:
        return url_host
    location = _location_of(segments)
    host = spec.host_for(location)
    if not spec.known_hosts().fullmatch(host):
        raise _fail(value, f"location {location!r} cannot form a {spec.title} endpoint host", _WHAT)
    return host


def _query_items(query: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> list[tuple[str, str]]:
    """Query parameters as ``(key, text)`` pairs. Lists repeat the key; booleans are ``true``/``false``."""
    if query is None:
        return []
    pairs = query.items() if isinstance(query, Mapping) else query
    out: list[tuple[str, str]] = []
    for key, value in pairs:
        if not isinstance(key, str) or not _QUERY_KEY.fullmatch(key):
            raise InvalidOperationNameError(f"invalid query parameter name {key!r}", key)
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            if isinstance(item, bool):
                out.append((key, "true" if item else "false"))
            elif isinstance(item, str | int | float):
                out.append((key, str(item)))
            else:
                raise InvalidOperationNameError(
                    f"query parameter {key!r} must be a string, number or boolean (or a list of them), "
                    f"got {type(item).__name__}",
                    key,
                )
    return out


def method_request(
    method: str,
    path: str,
    *,
    service: str | None = None,
    api_version: str | None = None,
    body: Mapping[str, Any] | None = None,
    query: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
    endpoint: str | None = None,
) -> HttpRequest:
    """The request for one method call, validated before anything is sent.

    ``method``: GET, POST, PATCH, PUT or DELETE (a body only with POST/PATCH/PUT; POST without ``body`` sends
    ``{}``, as Google's clients do). ``body`` must be a JSON object that serialises (checked here, so a
    ``datetime`` left in a templated body fails before the call). Query values never appear in messages.
    """
    verb = method.upper() if isinstance(method, str) else method
    if verb not in METHODS:
        raise InvalidOperationNameError(f"invalid HTTP method {method!r}; expected one of {sorted(METHODS)}", method)
    call = resolve_method(path, service=service, api_version=api_version, endpoint=endpoint)
    items = _query_items(query)
    if body is not None and verb not in _WITH_BODY:
        raise InvalidOperationNameError(f"a {verb} request has no body; pass query= instead", method)
    if body is not None and not isinstance(body, Mapping):
        raise InvalidOperationNameError(f"body must be a JSON object, got {type(body).__name__}", None)
    has_body = verb in _WITH_BODY
    payload = dict(body) if body is not None else ({} if has_body else None)
    if has_body:
        try:
            size = len(json.dumps(payload, separators=(",", ":"), allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise InvalidOperationNameError(f"body is not JSON-serialisable: {exc}", None) from None
        if size > MAX_BODY_BYTES:
            raise InvalidOperationNameError(f"body is {size} bytes, more than {MAX_BODY_BYTES}", None)
    return HttpRequest(
        # Not one of the five Operations verbs: ``verb`` is descriptive only (no client branches on it).
        verb=None,
        method=verb,
        host=call.host,
        path=call.path,
        query=tuple(items),
        json=payload,
        has_body=has_body,
    )


# -- retrying a non-idempotent call -------------------------------------------------------------------------

# Exception classes (by name, in the transport libraries' own modules) raised only while *opening* a connection,
# before any byte of the request is written. Matched by name so this module imports no transport library.
_BEFORE_SEND: Final = frozenset(
    {
        ("urllib3.exceptions", "NewConnectionError"),  # refused, DNS failure (requests wraps it)
        ("urllib3.exceptions", "ConnectTimeoutError"),
        ("requests.exceptions", "ConnectTimeout"),
        ("aiohttp", "ClientConnectorError"),  # refused, DNS failure, TLS handshake (the async client)
        ("aiohttp", "ConnectionTimeoutError"),  # waiting for a pooled connection or opening one
    }
)


def _causes(exc: BaseException, depth: int = 6) -> Iterable[BaseException]:
    """``exc``, its context/cause chain, exception arguments and ``.reason`` (urllib3's MaxRetryError)."""
    seen: set[int] = set()
    stack = [(exc, 0)]
    while stack:
        item, level = stack.pop()
        if id(item) in seen or level > depth:
            continue
        seen.add(id(item))
        yield item
        nested = [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
        stack.extend((n, level + 1) for n in nested if isinstance(n, BaseException))


def _module_root(cls: type) -> str:
    module = cls.__module__
    return "aiohttp" if module.startswith("aiohttp.") else module


def failed_before_send(exc: BaseException) -> bool:
    """True when ``exc`` proves the request never left the client (a connection could not be opened)."""
    if not isinstance(exc, TransportError):
        return False
    for item in _causes(exc):
        for cls in type(item).__mro__:
            if (_module_root(cls), cls.__name__) in _BEFORE_SEND:
                return True
    return False


@dataclass(frozen=True)
class StartRetryPolicy(RetryPolicy):
    """:class:`RetryPolicy` for a call that must not run twice: only 429 and failures to connect are retried."""

    def is_retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, ApiError):
            return exc.http_status == 429
        return failed_before_send(exc)


def start_retry(*, idempotent: bool, base: RetryPolicy | None = None) -> RetryPolicy:
    """The policy for a method call: ``base`` (default: the client default) when the call is idempotent (it
    carries a ``request_id`` the service deduplicates on, or is a GET), else :class:`StartRetryPolicy` with
    ``base``'s timings.
    """
    chosen = base or DEFAULT_RETRY
    if idempotent:
        return chosen
    # Every field of the base policy, so that a field added to RetryPolicy later is never silently dropped here.
    return StartRetryPolicy(**{f.name: getattr(chosen, f.name) for f in fields(chosen) if f.init})


START_RETRY: Final[RetryPolicy] = start_retry(idempotent=False)

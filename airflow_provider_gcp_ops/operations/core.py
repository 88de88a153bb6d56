"""Build Operations requests and parse their responses, without doing any I/O (sans-IO, like h11).

Both clients (``requests`` and ``aiohttp``) call these functions and only move bytes: the service-table
decisions (is the verb supported? does cancel send ``{}``? where does ``:wait`` take its timeout?) and the
error mapping are made once, here, and tested once.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from airflow_provider_gcp_ops.operations.errors import (
    MalformedResponseError,
    error_from_response,
    unimplemented_verb,
)
from airflow_provider_gcp_ops.operations.model import Operation
from airflow_provider_gcp_ops.operations.names import CollectionRef, OperationRef, _segments_path
from airflow_provider_gcp_ops.operations.services import Method, Verb, WaitStyle

__all__ = [
    "HttpRequest",
    "ListPage",
    "cancel_request",
    "delete_request",
    "format_duration",
    "get_request",
    "list_request",
    "parse_duration",
    "parse_empty",
    "parse_list",
    "parse_operation",
    "raise_for_status",
    "wait_request",
]

_SNIPPET = 200


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request to make. ``has_body`` says whether to send ``json`` (a cancel may send ``{}``)."""

    verb: Verb | None  # None: a service's own method (StartOperationOperator), not an Operations verb
    method: str
    host: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    json: Any = None
    has_body: bool = False

    def url(self, base_url: str | None = None) -> str:
        """The full URL. ``base_url`` (``"http://127.0.0.1:8123"``, the emulator) replaces scheme and host, and the
        host becomes the first path segment, so one port serves every service apart from the others."""
        return self._base(base_url) + self.path + (f"?{urlencode(self.query)}" if self.query else "")

    def describe(self, base_url: str | None = None) -> str:
        """``"GET https://host/v1/..."`` for errors and logs: never the query string."""
        return f"{self.method} {self._base(base_url)}{self.path}"

    def _base(self, base_url: str | None) -> str:
        return f"{base_url.rstrip('/')}/{self.host}" if base_url else f"https://{self.host}"

    @property
    def describe_url(self) -> str:
        """The URL without the query string (what errors carry)."""
        return f"https://{self.host}{self.path}"

    def body_bytes(self) -> bytes | None:
        """The JSON body, compact UTF-8, or ``None`` when nothing is sent."""
        if not self.has_body:
            return None
        return json.dumps(self.json, separators=(",", ":")).encode("utf-8")

    def headers(self) -> dict[str, str]:
        """Headers this request needs (``Content-Type`` when there is a body); auth is the client's business."""
        return {"Content-Type": "application/json"} if self.has_body else {}


_DEFAULT_SHAPE = {
    Verb.GET: ("GET", ""),
    Verb.CANCEL: ("POST", ":cancel"),
    Verb.DELETE: ("DELETE", ""),
    Verb.WAIT: ("POST", ":wait"),
}


def _require(ref: OperationRef, verb: Verb) -> tuple[Method, str]:
    """The collection's method for ``verb`` and the request path; a verb the collection lacks is refused here,
    before any request (verbs differ per collection: Vertex AI's top-level collections have no list or cancel)."""
    method = ref.method(verb)
    if method is None:
        http, suffix = _DEFAULT_SHAPE[verb]
        raise unimplemented_verb(
            f"{ref.spec.title} {ref.api_version} (collection of {ref.name!r})",
            verb.value,
            method=http,
            url=f"https://{ref.host}{ref.path(suffix)}",
        )
    return method, _segments_path(method.prefix, ref.name) + method.suffix


def get_request(ref: OperationRef) -> HttpRequest:
    method, path = _require(ref, Verb.GET)
    return HttpRequest(Verb.GET, method.http, ref.host, path)


def cancel_request(ref: OperationRef) -> HttpRequest:
    """``POST {name}:cancel``; body per the API version (no body, or ``{}``: AlloyDB v1beta none, v1 ``{}``).

    A 200 from cancel proves nothing: only a later poll showing ``done`` with rpc code 1 does.
    """
    method, path = _require(ref, Verb.CANCEL)
    if not method.body:
        return HttpRequest(Verb.CANCEL, method.http, ref.host, path)
    return HttpRequest(Verb.CANCEL, method.http, ref.host, path, json={}, has_body=True)


def delete_request(ref: OperationRef) -> HttpRequest:
    """``DELETE {name}``: forgets the operation record; it does not stop the work."""
    method, path = _require(ref, Verb.DELETE)
    return HttpRequest(Verb.DELETE, method.http, ref.host, path)


def wait_request(ref: OperationRef, timeout_s: float) -> HttpRequest:
    """``POST {name}:wait`` with the timeout where the API says (query or body); Unimplemented if no ``:wait``.

    The server may return before the timeout with the operation still running: callers loop.
    """
    method, path = _require(ref, Verb.WAIT)
    timeout = format_duration(timeout_s)
    if method.wait is WaitStyle.QUERY:
        return HttpRequest(Verb.WAIT, method.http, ref.host, path, query=(("timeout", timeout),))
    return HttpRequest(Verb.WAIT, method.http, ref.host, path, json={"timeout": timeout}, has_body=True)


def list_request(
    coll: CollectionRef,
    *,
    filter: str | None = None,  # the API's own parameter name
    page_size: int | None = None,
    page_token: str | None = None,
    return_partial_success: bool = False,
) -> HttpRequest:
    """``GET {parent}/operations`` with the camelCase query keys of ListOperations.

    ``page_size`` must be a positive int (servers clamp large values themselves); it is checked here so a
    mistake fails before any network call.
    """
    path = coll.path()
    method = coll.method()
    if method is None:
        raise unimplemented_verb(
            f"{coll.spec.title} {coll.api_version} (collection {coll.parent!r})",
            Verb.LIST.value,
            method="GET",
            url=f"https://{coll.host}{path}",
        )
    query: list[tuple[str, str]] = []
    if method.list_shape == "query" and coll.parent:
        query.append(("name", coll.parent))
    if page_size is not None and (isinstance(page_size, bool) or not isinstance(page_size, int) or page_size <= 0):
        raise ValueError(f"page_size must be a positive integer, got {page_size!r}")
    wanted = (
        ("filter", filter or None),
        ("pageSize", None if page_size is None else str(page_size)),
        ("pageToken", page_token or None),
        ("returnPartialSuccess", "true" if return_partial_success else None),
    )
    for key, val in wanted:
        if val is None:
            continue
        if key not in method.params:
            raise ValueError(
                f"{coll.spec.title} {coll.api_version} list does not take {key!r} "
                f"(it takes: {', '.join(method.params) or 'no parameters'}); no request was sent"
            )
        query.append((key, val))
    return HttpRequest(Verb.LIST, method.http, coll.host, path, query=tuple(query))


@dataclass(frozen=True)
class ListPage:
    """One page of ListOperations. ``next_page_token`` is ``None`` on the last page."""

    operations: tuple[Operation, ...]
    next_page_token: str | None
    unreachable: tuple[str, ...] = ()


def _ok(status: int) -> bool:
    return 200 <= status < 300


def raise_for_status(status: int, headers: Mapping[str, str], body: bytes, request: HttpRequest) -> None:
    """Raise the typed :class:`~.errors.ApiError` for a non-2xx response; return for 2xx."""
    if not _ok(status):
        raise error_from_response(status, headers, body, method=request.method, url=request.describe_url)


def _json_body(body: bytes, request: HttpRequest) -> Any:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes | bytearray) else str(body)
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than json's recursion allows
        snippet = " ".join(text.split())[:_SNIPPET]
        raise MalformedResponseError(f"expected a JSON body from {request.describe()}, got: {snippet!r}") from None


def parse_operation(status: int, headers: Mapping[str, str], body: bytes, request: HttpRequest) -> Operation:
    """A 2xx Operation body (get, wait) as :class:`Operation`; else the typed error is raised."""
    raise_for_status(status, headers, body, request)
    data = _json_body(body, request)
    try:
        return Operation.from_json(data)
    except MalformedResponseError as exc:
        raise MalformedResponseError(f"{exc} (from {request.describe()})") from None


def parse_list(status: int, headers: Mapping[str, str], body: bytes, request: HttpRequest) -> ListPage:
    """A 2xx ListOperations body. Missing ``operations`` is an empty page; an empty token means no next page."""
    raise_for_status(status, headers, body, request)
    data = _json_body(body, request) if body.strip() else {}
    if not isinstance(data, Mapping):
        raise MalformedResponseError(f"expected a JSON object from {request.describe()}")
    raw_ops = data.get("operations")
    raw_ops = [] if raw_ops is None else raw_ops
    if not isinstance(raw_ops, list):
        raise MalformedResponseError(f"'operations' is not a list in the response from {request.describe()}")
    token = data.get("nextPageToken")
    raw_unreachable = data.get("unreachable") or []
    return ListPage(
        operations=tuple(Operation.from_json(item) for item in raw_ops),
        next_page_token=token if isinstance(token, str) and token else None,
        unreachable=tuple(str(u) for u in raw_unreachable) if isinstance(raw_unreachable, list) else (),
    )


def parse_empty(status: int, headers: Mapping[str, str], body: bytes, request: HttpRequest) -> None:
    """Cancel/delete: a 2xx with ``{}`` (or an empty body). Any JSON is accepted; non-JSON is malformed."""
    raise_for_status(status, headers, body, request)
    if body.strip():
        _json_body(body, request)


_DURATION = re.compile(r"(-?)(\d+)(?:\.(\d{1,9}))?s")


def format_duration(seconds: float) -> str:
    """A ``google.protobuf.Duration`` in JSON form: ``10`` → ``"10s"``, ``0.5`` → ``"0.5s"`` (ns precision)."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not math.isfinite(seconds):
        raise ValueError(f"duration must be a finite number of seconds, got {seconds!r}")
    if seconds < 0:
        raise ValueError(f"duration must not be negative, got {seconds!r}")
    text = f"{seconds:.9f}".rstrip("0").rstrip(".")
    return f"{text}s"


def parse_duration(text: str) -> float:
    """``"2s"``, ``"1.500s"``, ``"-0.5s"`` → seconds. Raises ``ValueError`` on anything else."""
    match = _DURATION.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not a protobuf Duration: {text!r}")
    sign, whole, frac = match.groups()
    value = int(whole) + (int(frac.ljust(9, "0")) / 1e9 if frac else 0.0)
    return -value if sign else value

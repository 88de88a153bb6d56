"""Operation names in, validated references out: the only way a host and a path enter a request.

Users paste operation names from many places: a relative name from ``gcloud``, a full resource name from
Cloud Logging (``//dataproc.googleapis.com/projects/...``), or a REST URL from a log line. All three resolve
here into an :class:`OperationRef` (or a :class:`CollectionRef` for list calls) with the service's row, the API
version and the endpoint host already decided.

Security rule: the host never comes from free text, except a ``*.googleapis.com`` host that the service
table lists for the row (or the explicit ``endpoint=`` argument, which is configuration, not data). Every
input is validated *before* anything else happens, and every rejection is a typed
:class:`~airflow_provider_gcp_ops.operations.errors.InvalidOperationNameError` that quotes the input.

Names are stored unescaped (``projects/p/regions/r/operations/abc``). Each path segment is percent-encoded
on the way out (AIP-127: ``quote(segment, safe="")``), so no segment can add a ``/``, a ``?`` or a dot segment
to the URL. A ``%`` in a relative name is refused rather than guessed at: a name is either unescaped (then it
has no ``%``) or it was already escaped and escaping it again would corrupt it.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote

from airflow_provider_gcp_ops.operations.errors import InvalidOperationNameError
from airflow_provider_gcp_ops.operations.services import (
    Method,
    ServiceSpec,
    UnknownServiceError,
    Verb,
    get_service,
    service_for_host,
    services,
)

__all__ = [
    "CollectionRef",
    "OperationRef",
    "resolve_collection",
    "resolve_operation",
    "validate_endpoint",
]

MAX_NAME_LENGTH = 2048
_SHOWN = 200
_URL = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<path>[^?#]*)"
    r"(?:\?(?P<query>[^#]*))?(?:#(?P<fragment>.*))?",
    re.DOTALL,
)
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_SUFFIX = re.compile(r"(?::[A-Za-z][A-Za-z0-9]*)?")
_LOCATION_COLLECTIONS = ("locations", "regions")


def _shown(value: object) -> str:
    """``repr`` of the input for messages, with query string and userinfo redacted and length bounded."""
    if not isinstance(value, str):
        return f"<{type(value).__name__}>"
    text = value
    for mark in ("?", "#"):
        if mark in text:
            text = text.split(mark, 1)[0] + mark + "<redacted>"
    text = re.sub(r"(://)[^/@?#]*@", r"\1<redacted>@", text)
    if len(text) > _SHOWN:
        return f"{text[:_SHOWN]!r}... ({len(value)} characters)"
    return repr(text)


def _fail(value: object, problem: str, what: str = "operation name") -> InvalidOperationNameError:
    return InvalidOperationNameError(f"invalid {what} {_shown(value)}: {problem}", value)


def _bad_char(text: str) -> str | None:
    """The problem with the first forbidden character of ``text``, or ``None``."""
    if text.isascii() and text.isprintable() and " " not in text and "\\" not in text:
        return None  # the common case at C speed: printable ASCII has no C* or Z* character but the space
    for ch in text:
        if ch == "\\":
            return "contains a backslash"
        if ch.isspace():
            return f"contains whitespace ({ch!r})"
        if unicodedata.category(ch)[0] in ("C", "Z"):
            return f"contains a control or invisible character ({ch!r})"
    return None


def _check_segments(name: str, value: object, what: str) -> list[str]:
    """Validate an unescaped relative name; return its segments."""
    if not name:
        raise _fail(value, "the name is empty", what)
    for ch, reserved in (
        ("?", "contains '?' (a query string is not part of a name)"),
        ("#", "contains '#'"),
        ("%", "contains '%' (pass the name unescaped; it is percent-encoded once, here)"),
    ):
        if ch in name:
            raise _fail(value, reserved, what)
    problem = _bad_char(name)
    if problem:
        raise _fail(value, problem, what)
    segments = name.split("/")
    for seg in segments:
        if not seg:
            raise _fail(value, "has an empty path segment (leading, trailing or double '/')", what)
        folded = unicodedata.normalize("NFKC", seg)
        if folded in (".", ".."):
            raise _fail(value, f"has a dot segment ({seg!r})", what)
        if any(c in folded for c in "/\\?#%"):
            raise _fail(value, f"segment {seg!r} normalises to a reserved character", what)
    return segments


def _check_host(host: str, value: object, what: str) -> ServiceSpec:
    """A host from the input must be a known endpoint of a row of the service table."""
    if "@" in host:
        raise _fail(value, "URLs with userinfo ('user@host') are not accepted", what)
    if host.startswith("["):
        raise _fail(value, "IP literal hosts are not accepted; pass endpoint= for a private endpoint", what)
    hostname, _, port = host.partition(":")
    if port and port != "443":
        raise _fail(value, f"port {port!r} is not accepted in a URL; pass endpoint='host:port' instead", what)
    if not hostname:
        raise _fail(value, "the URL has no host", what)
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        pass
    else:
        raise _fail(value, "IP literal hosts are not accepted; pass endpoint= for a private endpoint", what)
    if not _HOSTNAME.fullmatch(hostname):
        raise _fail(value, f"host {hostname!r} is not a valid host name", what)
    spec = service_for_host(hostname.lower())
    retired = spec.retired_hosts.get(hostname.lower()) if spec is not None else None
    if retired is not None:
        raise _fail(value, retired, what)
    if spec is None:
        raise _fail(value, f"host {hostname.lower()!r} is not an endpoint of any service in the service table", what)
    return spec


def validate_endpoint(endpoint: str) -> str:
    """An explicit endpoint override: ``"host"`` or ``"host:port"``, host-name characters only.

    It is configuration (a private/PSC endpoint, a test server), so any host name or IP address is accepted,
    but never a scheme, path, query, userinfo or whitespace. Returned lower-cased.
    """
    if not isinstance(endpoint, str) or not endpoint:
        raise InvalidOperationNameError(
            f"invalid endpoint {_shown(endpoint)}: expected 'host' or 'host:port'", endpoint
        )
    hostname, sep, port = endpoint.partition(":")
    ok = bool(_HOSTNAME.fullmatch(hostname)) and (
        not sep or (port.isascii() and port.isdigit() and len(port) <= 5 and 0 < int(port) < 65536)
    )
    if not ok:
        raise InvalidOperationNameError(
            f"invalid endpoint {_shown(endpoint)}: expected 'host' or 'host:port' "
            "(no scheme, path, userinfo or whitespace)",
            endpoint,
        )
    return endpoint.lower()


@dataclass(frozen=True)
class _Parsed:
    segments: list[str]
    spec: ServiceSpec | None  # from a URL or full resource name host
    url_host: str | None  # host of a REST URL (port 443 dropped)
    url_version: str | None


def _parse(value: object, what: str) -> _Parsed:
    """Split any accepted input form into segments, validating everything that can be validated alone."""
    if not isinstance(value, str):
        raise _fail(value, f"expected a string, got {type(value).__name__}", what)
    if not value:
        raise _fail(value, "the name is empty", what)
    if len(value) > MAX_NAME_LENGTH:
        raise _fail(value, f"longer than {MAX_NAME_LENGTH} characters", what)
    problem = _bad_char(value)
    if problem:
        raise _fail(value, problem, what)

    if value.startswith("//"):  # full resource name: //{service host}/{relative name}
        host, _, rest = value[2:].partition("/")
        if ":" in host:
            raise _fail(value, "a full resource name has no port", what)
        spec = _check_host(host, value, what)
        return _Parsed(_check_segments(rest, value, what), spec, None, None)

    match = _URL.fullmatch(value)
    if match is None and re.match(r"[A-Za-z][A-Za-z0-9+.-]*:/", value):
        raise _fail(value, "not a valid URL", what)
    if match is None:
        return _Parsed(_check_segments(value, value, what), None, None, None)

    if match.group("scheme").lower() != "https":
        raise _fail(value, "only https:// URLs are accepted", what)
    if match.group("fragment") is not None:
        raise _fail(value, "the URL has a fragment ('#')", what)
    authority = match.group("authority")
    spec = _check_host(authority, value, what)
    host = authority.partition(":")[0].lower()
    path = match.group("path")
    top_version = spec.top_list_paths().get(path)
    if top_version is not None:  # GET /v1/operations: the API's one top-level collection
        return _Parsed(["operations"], spec, host, top_version)
    prefix, version = _url_prefix(spec, path, value, what)
    raw_segments = path[len(prefix) :].split("/")
    segments = []
    for seg in raw_segments:
        if _PERCENT.search(seg):
            raise _fail(value, f"segment {seg!r} has a malformed percent escape", what)
        try:
            decoded = unquote(seg, errors="strict")
        except UnicodeDecodeError:
            raise _fail(value, f"segment {seg!r} does not decode as UTF-8", what) from None
        if "/" in decoded:
            raise _fail(value, f"segment {seg!r} has an encoded '/'", what)
        segments.append(decoded)
    if raw_segments and ":" in raw_segments[-1]:
        raise _fail(value, f"the URL ends in a method verb ({raw_segments[-1]!r}); pass the resource URL", what)
    _check_segments("/".join(segments), value, what)
    return _Parsed(segments, spec, host, version)


def _url_prefix(spec: ServiceSpec, path: str, value: object, what: str) -> tuple[str, str]:
    """The version prefix a URL path starts with (``/v1/``, ``/dns/v1/``, ``/storage/v1/``) and its version."""
    found = next(((p, v) for p, v in spec.url_prefixes() if path.startswith(p) and len(path) > len(p)), None)
    if found is not None:
        return found
    raw = path.split("/")
    if len(raw) < 3 or raw[0] != "":
        raise _fail(value, "the URL path must be /{version}/{name}", what)
    if raw[1] in spec.versions:
        raise _fail(value, "the name is empty", what)
    raise _fail(value, f"{spec.title} has no API version {raw[1]!r} (known: {', '.join(spec.versions)})", what)


def _location_of(segments: list[str]) -> str | None:
    for i in range(0, len(segments) - 1, 2):
        if segments[i] in _LOCATION_COLLECTIONS:
            return segments[i + 1]
    return None


def _project_of(segments: list[str]) -> str | None:
    return segments[1] if len(segments) > 1 and segments[0] == "projects" else None


def _segments_path(prefix: str, name: str) -> str:
    """``/{prefix}{name}`` with every segment of ``name`` percent-encoded (``prefix``: ``v1/``, ``dns/v1/``)."""
    return "/" + prefix + "/".join(quote(seg, safe="") for seg in name.split("/") if seg)


def _fits(spec: ServiceSpec, probe: str, collection: bool, version: str | None = None) -> bool:
    return spec.matches_parent(probe, version) if collection else spec.matches(probe, version)


def _patterns_text(spec: ServiceSpec, version: str, collection: bool) -> str:
    found = [(c.parent if collection else c.name) for c in spec.collections(version)]
    shown = [p for p in dict.fromkeys(found) if p is not None]
    more = f", ... {len(shown) - 12} more" if len(shown) > 12 else ""
    return ", ".join(shown[:12]) + more


def _check_fit(spec: ServiceSpec, version: str, probe: str, *, collection: bool, value: object, what: str) -> None:
    """The name must fit a collection of the chosen version (patterns differ per version: Dataproc v1beta2)."""
    if not _fits(spec, probe, collection, version):
        patterns = _patterns_text(spec, version, collection)
        kind = "operations collection" if collection else "operation name"
        raise _fail(value, f"does not match the {spec.title} {version} {kind} patterns ({patterns})", what)


def _choose_spec(
    parsed: _Parsed, service: str | None, probe: str, value: object, what: str, *, collection: bool = False
) -> ServiceSpec:
    """The row for this input: from ``service=``, from the input's host, or the only row whose patterns match."""
    spec: ServiceSpec | None = parsed.spec
    if service is not None:
        try:
            chosen = get_service(service)
        except UnknownServiceError as exc:
            raise _fail(value, str(exc), what) from None
        if spec is not None and spec.key != chosen.key:
            raise _fail(value, f"its host belongs to service {spec.key!r}, not {chosen.key!r}", what)
        spec = chosen
    if spec is not None:
        return spec
    candidates = [row for row in services() if probe and _fits(row, probe, collection)]
    if not candidates:
        raise _fail(value, "matches no service's operation name pattern; check the name or pass service=", what)
    if len(candidates) > 1:
        keys = ", ".join(repr(row.key) for row in candidates[:25])
        more = f" and {len(candidates) - 25} more" if len(candidates) > 25 else ""
        raise _fail(value, f"is ambiguous: it fits services {keys}{more}; pass service= one of them", what)
    return candidates[0]


def _choose_version(spec: ServiceSpec, parsed: _Parsed, api_version: str | None, value: object, what: str) -> str:
    if api_version is not None and parsed.url_version is not None and api_version != parsed.url_version:
        raise _fail(value, f"the URL has version {parsed.url_version!r} but api_version={api_version!r}", what)
    version = api_version or parsed.url_version or spec.default_version
    if version not in spec.versions:
        raise _fail(value, f"{spec.title} has no API version {version!r} (known: {', '.join(spec.versions)})", what)
    return version


def _choose_host(
    spec: ServiceSpec,
    parsed: _Parsed,
    *,
    location: str | None,
    endpoint: str | None,
    value: object,
    what: str,
    version: str | None = None,
) -> str:
    if endpoint is not None:
        return validate_endpoint(endpoint)
    if parsed.url_host is not None:
        return parsed.url_host
    host = spec.host_for(location, version)
    if not spec.known_hosts().fullmatch(host):
        raise _fail(value, f"location {location!r} cannot form a {spec.title} endpoint host", what)
    return host


def resolve_operation(
    value: str,
    *,
    service: str | None = None,
    api_version: str | None = None,
    endpoint: str | None = None,
) -> OperationRef:
    """Resolve an operation given as a relative name, a full resource name or a REST URL.

    - Relative name (``projects/p/regions/us-central1/operations/abc``): ``service=`` is required when more
      than one row's name patterns fit (``projects/*/locations/*/operations/*`` fits most services); the error
      lists the candidates. A name only one row fits (Dataproc ``regions/``, Spanner ``instances/``) needs
      no ``service=``.
    - Full resource name (``//dataproc.googleapis.com/projects/...``): the row comes from the service host.
    - REST URL (``https://us-central1-dataproc.googleapis.com/v1/projects/.../operations/abc``): https only,
      the host must be one the row lists (``:443`` allowed), the version one the row lists; the query string is
      dropped; a trailing method verb (``:cancel``) is refused. The URL's host is kept.

    ``api_version`` defaults to the URL's version or the row's first version. ``endpoint`` (``host`` or
    ``host:port``) replaces the derived host, e.g. for a private endpoint.
    """
    what = "operation name"
    parsed = _parse(value, what)
    name = "/".join(parsed.segments)
    if ":" in parsed.segments[-1]:
        raise _fail(value, f"the name ends in a method verb ({parsed.segments[-1]!r}); pass the operation name", what)
    spec = _choose_spec(parsed, service, name, value, what)
    version = _choose_version(spec, parsed, api_version, value, what)
    _check_fit(spec, version, name, collection=False, value=value, what=what)
    location = _location_of(parsed.segments)
    host = _choose_host(spec, parsed, location=location, endpoint=endpoint, value=value, what=what, version=version)
    return OperationRef(service=spec.key, api_version=version, host=host, name=name)


def resolve_collection(
    value: str,
    *,
    service: str | None = None,
    api_version: str | None = None,
    endpoint: str | None = None,
) -> CollectionRef:
    """Resolve an operations collection for ``list``: the parent (``projects/p/locations/l``), the parent with
    ``/operations``, a full resource name or a REST URL of either. Same rules as :func:`resolve_operation`.
    """
    what = "operations collection"
    parsed = _parse(value, what)
    segments = parsed.segments
    if segments[-1] == "operations":
        segments = segments[:-1]
    if not segments and parsed.spec is None and service is None:
        raise _fail(value, "has no parent before 'operations'; pass service= for an API's top-level operations", what)
    if segments and ":" in segments[-1]:
        raise _fail(value, f"ends in a method verb ({segments[-1]!r})", what)
    parent = "/".join(segments)
    spec = _choose_spec(parsed, service, parent, value, what, collection=True)
    version = _choose_version(spec, parsed, api_version, value, what)
    _check_fit(spec, version, parent, collection=True, value=value, what=what)
    location = _location_of(segments)
    host = _choose_host(spec, parsed, location=location, endpoint=endpoint, value=value, what=what, version=version)
    return CollectionRef(service=spec.key, api_version=version, host=host, parent=parent)


def _from_dict(data: object, key: str, what: str) -> dict[str, str]:
    if not isinstance(data, Mapping):
        raise InvalidOperationNameError(f"invalid serialized {what}: expected a mapping", data)
    out = {}
    for field_name in ("service", "api_version", "host", key):
        item = data.get(field_name)
        if not isinstance(item, str) or not item:
            raise InvalidOperationNameError(f"invalid serialized {what}: missing or non-string {field_name!r}", data)
        out[field_name] = item
    return out


# A location that may form a regional host label (``us-central1``, ``eu``): a DNS label without ``--`` (so never
# punycode, ``xn--...``, which an HTTP client would decode as an internationalised name).
_REGION_LABEL = re.compile(r"[a-z](?:[a-z0-9]|-(?!-))*", re.ASCII)
_GOOGLE_SUFFIX = ".googleapis.com"


def check_ref_host(service: str, host: str, name: str, what: str) -> None:
    """A reference's host agrees with its service and name, however the reference was built (resolved, by hand,
    or from a trigger's kwargs): a Google host is the service's global host or the regional host of the name's own
    location (a plain DNS label, never punycode); any other host is a configured endpoint (``host[:port]``)."""
    spec = get_service(service)
    hostname = host.partition(":")[0] if isinstance(host, str) else ""
    if not hostname.endswith(_GOOGLE_SUFFIX) or not isinstance(name, str):
        validate_endpoint(host)
        return
    location = _location_of(name.split("/"))
    # A location that is not a plain DNS label (e.g. punycode) has no regional host: "!" fills no template.
    plain = location is None or _REGION_LABEL.fullmatch(location) is not None
    if not spec.serves(host, location if plain else "!"):
        raise _fail(name, f"host {host[:80]!r} is not a {spec.title} endpoint for location {location!r}", what)


@dataclass(frozen=True)
class OperationRef:
    """A validated operation: which row, which API version, which host, which (unescaped) name."""

    service: str
    api_version: str
    host: str
    name: str

    def __post_init__(self) -> None:
        check_ref_host(self.service, self.host, self.name, "operation reference")

    @property
    def spec(self) -> ServiceSpec:
        return get_service(self.service)

    @property
    def project(self) -> str | None:
        return _project_of(self.name.split("/"))

    @property
    def location(self) -> str | None:
        """The ``regions/*`` or ``locations/*`` value, ``None`` when the name has neither (Spanner)."""
        return _location_of(self.name.split("/"))

    @property
    def operation_id(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    @property
    def full_resource_name(self) -> str:
        """``//{service host}/{name}`` (AIP-122), e.g. for Cloud Logging queries."""
        return f"//{self.spec.host}/{self.name}"

    def method(self, verb: Verb) -> Method | None:
        """How ``verb`` is called for this operation (its collection's), ``None`` when the collection lacks it."""
        return self.spec.method(self.api_version, self.name, verb)

    def supports(self, verb: Verb) -> bool:
        return self.method(verb) is not None

    def path(self, suffix: str = "") -> str:
        """``/v1/projects/p/regions/r/operations/abc`` + ``suffix`` (``""`` or a verb like ``":cancel"``)."""
        if not _SUFFIX.fullmatch(suffix):
            raise ValueError(f"path suffix must be '' or ':verb', got {suffix!r}")
        get = self.method(Verb.GET)
        return _segments_path(get.prefix if get else f"{self.api_version}/", self.name) + suffix

    def to_dict(self) -> dict[str, str]:
        """JSON-safe form (for trigger serialization); :meth:`from_dict` validates it again."""
        return {"service": self.service, "api_version": self.api_version, "host": self.host, "name": self.name}

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> OperationRef:
        fields = _from_dict(data, "name", "operation reference")
        return resolve_operation(
            fields["name"], service=fields["service"], api_version=fields["api_version"], endpoint=fields["host"]
        )


@dataclass(frozen=True)
class CollectionRef:
    """A validated operations collection (the parent of ``operations``), for list calls."""

    service: str
    api_version: str
    host: str
    parent: str

    def __post_init__(self) -> None:
        check_ref_host(self.service, self.host, self.parent, "collection reference")

    @property
    def spec(self) -> ServiceSpec:
        return get_service(self.service)

    @property
    def project(self) -> str | None:
        return _project_of(self.parent.split("/"))

    @property
    def location(self) -> str | None:
        return _location_of(self.parent.split("/"))

    def method(self) -> Method | None:
        """How list is called for this collection, ``None`` when it has no list."""
        coll = self.spec.list_collection_for(self.parent, self.api_version)
        return None if coll is None else coll.methods.get(Verb.LIST)

    def path(self) -> str:
        """``/v1/projects/p/locations/l/operations`` (also right for rows whose list takes a ``name``); for a list
        that takes the collection in the query (``v1/operations?name=``) or has one top-level collection,
        ``/v1/operations``."""
        method = self.method()
        if method is not None and method.list_shape in ("query", "top"):
            return "/" + method.prefix
        prefix = method.prefix if method is not None else f"{self.api_version}/"
        if not self.parent:
            return "/" + prefix + "operations"
        return _segments_path(prefix, self.parent) + "/operations"

    def to_dict(self) -> dict[str, str]:
        return {"service": self.service, "api_version": self.api_version, "host": self.host, "parent": self.parent}

    @classmethod
    def from_dict(cls, data: Mapping[str, str]) -> CollectionRef:
        fields = _from_dict(data, "parent", "collection reference")
        return resolve_collection(
            fields["parent"], service=fields["service"], api_version=fields["api_version"], endpoint=fields["host"]
        )

"""The service table: every per-service difference of the Operations REST surface, as data.

The rows are generated from Google's Discovery documents (``scripts/generate_services.py`` writes
``service_table.json``) plus a small hand-kept ``service_overlay.json`` (legacy and retired hosts, preferred
endpoints, short titles). The table loads the first time a name is resolved, so importing this module stays cheap.
A service this release does not know can be added with :func:`register_service`. Nothing else in the library
branches on a service's key: it reads the row.
"""

from __future__ import annotations

import enum
import functools
import json
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any


class Verb(str, enum.Enum):
    """The five verbs of ``google.longrunning.Operations``."""

    GET = "get"
    LIST = "list"
    CANCEL = "cancel"
    DELETE = "delete"
    WAIT = "wait"


class WaitStyle(str, enum.Enum):
    """How a service's ``:wait`` takes its timeout, where it has one."""

    NONE = "none"  # no :wait, the client polls
    QUERY = "query"  # POST {name}:wait?timeout=10s  (Vertex AI)
    BODY = "body"  # POST {name}:wait  {"timeout": "10s"}  (Cloud Run v2)


class ListShape(str, enum.Enum):
    """How the proto names the list collection.

    Both shapes give the same REST path (``GET /{ver}/<...>/operations``); the difference is whether the API
    calls the collection a ``name`` (Dataproc, Spanner: ``name=projects/*/regions/*/operations``) or a
    ``parent`` (most others: ``{parent=projects/*/locations/*}/operations``). Kept for documentation and for
    clients that build request messages.
    """

    PARENT = "parent"
    NAME = "name"


@dataclass(frozen=True)
class Method:
    """How one verb of one operations collection is called: ``{http} /{prefix}{name}{suffix}``.

    ``body``: cancel sends ``{}`` (else no body). ``wait``: where ``:wait`` takes its timeout. ``list_shape``:
    ``parent`` (``{parent}/operations``), ``name`` (``{name}`` ending in ``/operations``; same path), ``query``
    (``{prefix}?name={parent}``) or ``top`` (``{prefix}``, the API's one top-level collection). ``params``: the
    query parameters list takes. ``path_params``: for APIs whose path has one parameter per segment instead of a
    ``{+name}`` (App Engine, Cloud Storage), their names, in order.
    """

    verb: Verb
    http: str
    prefix: str
    suffix: str = ""
    body: bool = False
    wait: WaitStyle = WaitStyle.NONE
    list_shape: str | None = None
    params: tuple[str, ...] = ()
    path_params: tuple[str, ...] = ("name",)


@dataclass(frozen=True)
class Collection:
    """One operations collection of one API version: its operation name pattern and the verbs it has.

    ``parent``: the pattern list takes (``None`` when the collection has no list). ``patterns``: per verb, when a
    verb's name pattern differs from ``name`` (rare).
    """

    name: str
    methods: Mapping[Verb, Method]
    parent: str | None = None
    patterns: Mapping[Verb, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "methods", MappingProxyType(dict(self.methods)))

    def matches(self, name: str) -> bool:
        """``name`` fits the collection's pattern, or a verb's own (Service Usage cancels ``operations/**``)."""
        return _fits(self.name, name) or any(_fits(p, name) for p in self.patterns.values())

    def method_for(self, name: str, verb: Verb) -> Method | None:
        """The method for ``verb`` when ``name`` fits that verb's pattern."""
        method = self.methods.get(verb)
        if method is None or not _fits(self.patterns.get(verb, self.name), name):
            return None
        return method

    def matches_parent(self, parent: str) -> bool:
        return self.parent is not None and _fits(self.parent, parent)

    @property
    def verbs(self) -> tuple[Verb, ...]:
        return tuple(v for v in Verb if v in self.methods)


@dataclass(frozen=True)
class ServiceSpec:
    """One row of the service table.

    ``host``: the global endpoint. ``regional_host``: a template with ``{location}`` for the regional
    endpoint Google documents, or ``None`` when the service has one endpoint. ``global_locations``: the
    location values that mean "use the global host". ``name_patterns``: operation name patterns, ``*`` one
    segment, ``**`` one or more segments. ``cancel_body``: ``None`` sends no body, ``{}`` sends ``{}``.

    Rows generated from the Discovery documents also carry ``api``: per API version, its operations collections
    (:class:`Collection`), each with its own verbs and call shapes; ``name_patterns``, ``missing_verbs``,
    ``cancel_body`` and ``wait_style`` are then summaries, and every decision reads the collection.
    ``extra_hosts``: mTLS hosts, per-version hosts; ``endpoints``: regional endpoint templates and the locations
    Discovery lists for each; ``retired_hosts``: hosts Google turned off, with the message to show.
    """

    key: str
    title: str
    host: str
    versions: tuple[str, ...]
    name_patterns: tuple[str, ...]
    list_shape: ListShape = ListShape.PARENT
    regional_host: str | None = None
    global_locations: frozenset[str] = frozenset({"global"})
    cancel_body: Mapping[str, object] | None = None
    missing_verbs: frozenset[Verb] = frozenset()
    wait_style: WaitStyle = WaitStyle.NONE
    api: Mapping[str, tuple[Collection, ...]] | None = None
    extra_hosts: tuple[str, ...] = ()
    version_hosts: Mapping[str, str] = field(default_factory=dict)
    endpoints: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    preferred_endpoints: tuple[str, ...] = ()
    retired_hosts: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.key or not re.fullmatch(r"[a-z][a-z0-9_]*", self.key):
            raise ValueError(f"service key must be lower_snake_case, got {self.key!r}")
        if not self.versions:
            raise ValueError(f"service {self.key!r} needs at least one API version")
        if not self.name_patterns:
            raise ValueError(f"service {self.key!r} needs at least one operation name pattern")
        if self.cancel_body is not None:
            object.__setattr__(self, "cancel_body", MappingProxyType(dict(self.cancel_body)))
        if self.api is None:
            object.__setattr__(self, "api", MappingProxyType({v: self._synthesized(v) for v in self.versions}))
        elif isinstance(self.api, dict):
            object.__setattr__(self, "api", MappingProxyType(dict(self.api)))
        for name in ("version_hosts", "endpoints", "retired_hosts"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def _synthesized(self, version: str) -> tuple[Collection, ...]:
        """Collections for a hand-written row: every pattern has every verb the row supports, same shapes."""
        prefix = f"{version}/"
        methods: dict[Verb, Method] = {
            Verb.GET: Method(Verb.GET, "GET", prefix),
            Verb.LIST: Method(
                Verb.LIST,
                "GET",
                prefix,
                "/operations",
                list_shape=self.list_shape.value,
                params=("filter", "pageSize", "pageToken", "returnPartialSuccess"),
            ),
            Verb.CANCEL: Method(Verb.CANCEL, "POST", prefix, ":cancel", body=self.cancel_body is not None),
            Verb.DELETE: Method(Verb.DELETE, "DELETE", prefix),
            Verb.WAIT: Method(Verb.WAIT, "POST", prefix, ":wait", wait=self.wait_style),
        }
        kept = {verb: m for verb, m in methods.items() if self.supports(verb)}
        return tuple(
            Collection(
                name=p,
                methods=kept,
                parent=p.removesuffix("/operations/*") if p.endswith("/operations/*") else None,
            )
            for p in self.name_patterns
        )

    @property
    def default_version(self) -> str:
        return self.versions[0]

    def supports(self, verb: Verb) -> bool:
        """Whether any collection of any version has ``verb`` (see :meth:`method` for one operation)."""
        if verb is Verb.WAIT:
            return self.wait_style is not WaitStyle.NONE and verb not in self.missing_verbs
        return verb not in self.missing_verbs

    def collections(self, version: str) -> tuple[Collection, ...]:
        assert self.api is not None
        return self.api.get(version, ())

    def collection_for(self, name: str, version: str) -> Collection | None:
        """The collection of ``version`` whose pattern ``name`` fits (``None``: none does)."""
        for coll in self.collections(version):
            if coll.matches(name):
                return coll
        return None

    def list_collection_for(self, parent: str, version: str) -> Collection | None:
        """The collection of ``version`` whose list takes ``parent``, preferring one that has list."""
        found = None
        for coll in self.collections(version):
            if coll.matches_parent(parent):
                if Verb.LIST in coll.methods:
                    return coll
                found = found or coll
        return found

    def method(self, version: str, name: str, verb: Verb) -> Method | None:
        """How ``verb`` is called for operation ``name`` in ``version``; ``None`` when its collection lacks it."""
        for coll in self.collections(version):
            method = coll.method_for(name, verb)
            if method is not None:
                return method
        return None

    def url_prefixes(self) -> tuple[tuple[str, str], ...]:
        """``(path prefix, version)`` of every version, longest first: ``/v1/``, ``/dns/v1/``, ``/storage/v1/``."""
        out: dict[str, str] = {}
        for version in self.versions:
            for coll in self.collections(version):
                for m in coll.methods.values():
                    if m.list_shape not in ("query", "top"):
                        out.setdefault("/" + m.prefix, version)
        return tuple(sorted(out.items(), key=lambda kv: -len(kv[0])))

    def top_list_paths(self) -> dict[str, str]:
        """``/v1/operations`` -> ``v1`` for lists that take no collection in the path (Speech, Service Usage)."""
        return {
            "/" + m.prefix: version
            for version in self.versions
            for coll in self.collections(version)
            for m in coll.methods.values()
            if m.list_shape in ("query", "top")
        }

    def matches(self, name: str, version: str | None = None) -> bool:
        """True when ``name`` (relative, no version) fits one of this service's operation name patterns
        (of ``version`` when given)."""
        if version is not None:
            return self.collection_for(name, version) is not None
        # Every pattern but a bare ``**`` (Speech v1 ids fit anything: that row needs ``service=``).
        return any(_fits(p, name) for p in self.name_patterns if p != "**")

    def matches_parent(self, parent: str, version: str | None = None) -> bool:
        versions = [version] if version is not None else list(self.versions)
        return any(c.matches_parent(parent) for v in versions for c in self.collections(v))

    def host_for(self, location: str | None, version: str | None = None) -> str:
        """The endpoint host for an operation in ``location`` (``None``: no location in the name)."""
        if location and location not in self.global_locations:
            for template in self.preferred_endpoints:
                listed = self.endpoints.get(template)
                if listed is None or location in listed:
                    return template.format(location=location)
            if self.regional_host:
                return self.regional_host.format(location=location)
        if version is not None and version in self.version_hosts:
            return self.version_hosts[version]
        return self.host

    def serves(self, host: str, location: str | None) -> bool:
        """Whether ``host`` is an endpoint of this service for an operation in ``location``: a fixed host (global,
        per-version, mTLS) or a regional one (``.rep``, ``{location}-...``) filled with that very location; for a
        name without a location (``None``), any regional host of the service."""
        if host in (self.host, *self.extra_hosts, *self.version_hosts.values()):
            return True
        if location is None:  # a name without a location (``operations/x``): any of the service's regional hosts
            return self.known_hosts().fullmatch(host) is not None
        templates = (self.regional_host, *self.endpoints, *self.preferred_endpoints)
        return any(t and t.format(location=location) == host for t in templates)

    @functools.cached_property
    def _hosts(self) -> re.Pattern[str]:
        fixed = {self.host, *self.extra_hosts, *self.version_hosts.values()}
        templates = {t for t in (self.regional_host, *self.endpoints, *self.preferred_endpoints) if t}
        alts = [re.escape(h) for h in sorted(fixed)]
        alts += [re.escape(t).replace(re.escape("{location}"), r"[a-z][a-z0-9-]{0,62}") for t in sorted(templates)]
        return re.compile("(?:" + "|".join(alts) + ")")

    def known_hosts(self) -> re.Pattern[str]:
        """A pattern that matches every host this service answers on (global, regional, ``.rep``, mTLS)."""
        return self._hosts


@functools.lru_cache(maxsize=4096)
def _split(pattern: str) -> tuple[str, ...] | None:
    """A pattern's segments, or ``None`` when it has ``**`` (then it is matched as a regular expression)."""
    segs = tuple(pattern.split("/"))
    return None if "**" in segs else segs


def _fits(pattern: str, name: str) -> bool:
    """``name`` fits ``pattern`` (``*`` one non-empty segment, ``**`` one or more); no regex for the usual case."""
    if not pattern or not name:
        return pattern == name  # "": an API's top-level collection
    segs = _split(pattern)
    if segs is None:
        return _compile(pattern).fullmatch(name) is not None
    parts = name.split("/")
    return len(parts) == len(segs) and all(p and s in ("*", p) for s, p in zip(segs, parts, strict=True))


@functools.lru_cache(maxsize=1024)
def _compile(pattern: str) -> re.Pattern[str]:
    parts = []
    for seg in pattern.split("/"):
        if seg == "**":
            parts.append(r"[^/]+(?:/[^/]+)*")
        elif seg == "*":
            parts.append(r"[^/]+")
        else:
            parts.append(re.escape(seg))
    return re.compile("/".join(parts))


_VERB_LETTERS = {"g": Verb.GET, "l": Verb.LIST, "c": Verb.CANCEL, "d": Verb.DELETE, "w": Verb.WAIT}
_DATA = Path(__file__).resolve().parent
TABLE_FILE = _DATA / "service_table.json"
OVERLAY_FILE = _DATA / "service_overlay.json"


def _method(verb: Verb, data: Mapping[str, Any]) -> Method:
    return Method(
        verb=verb,
        http=str(data["http"]),
        prefix=str(data["prefix"]),
        suffix=str(data.get("suffix", "")),
        body=bool(data.get("body", False)),
        wait=WaitStyle(data["wait"]) if "wait" in data else WaitStyle.NONE,
        list_shape=data.get("list"),
        params=tuple(data.get("params", ())),
        path_params=tuple(data.get("path_params", ("name",))),
    )


def _top_parent(name: str) -> str | None:
    """The list parent of a collection Discovery gives no list pattern for (``operations/*``: the top level)."""
    for tail in ("/operations/*", "/operations/**"):
        if name.endswith(tail):
            return name[: -len(tail)]
    return "" if name in ("operations/*", "operations/**", "**") else None


def _version_collections(data: Mapping[str, Any]) -> tuple[Collection, ...]:
    defaults = {verb: _method(verb, data["methods"][verb.value]) for verb in Verb if verb.value in data["methods"]}
    out = []
    for row in data["collections"]:
        overrides = row.get("methods", {})
        methods: dict[Verb, Method] = {}
        patterns: dict[Verb, str] = {}
        for letter in row["verbs"]:
            verb = _VERB_LETTERS[letter]
            entry = overrides.get(verb.value)
            methods[verb] = defaults[verb] if entry is None else _method(verb, entry)
            if entry is not None and "glob" in entry and entry["glob"] != row["name"]:
                patterns[verb] = entry["glob"]
        parent = row.get("parent")
        if parent is None and Verb.LIST in methods:
            parent = _top_parent(row["name"])
        out.append(Collection(name=row["name"], methods=methods, parent=parent, patterns=patterns))
    return tuple(out)


class _LazyApi(Mapping[str, tuple[Collection, ...]]):
    """A generated row's collections, built per version on first use (most rows are never used)."""

    def __init__(self, raw: Mapping[str, Any], versions: list[str]) -> None:
        self._raw = raw
        self._versions = tuple(versions)
        self._built: dict[str, tuple[Collection, ...]] = {}

    def __getitem__(self, version: str) -> tuple[Collection, ...]:
        built = self._built.get(version)
        if built is None:
            built = self._built[version] = _version_collections(self._raw[version])
        return built

    def __iter__(self) -> Iterator[str]:
        return iter(self._versions)

    def __len__(self) -> int:
        return len(self._versions)


def _short_title(title: str) -> str:
    return title.removesuffix(" API").strip() or title


def _row(key: str, data: Mapping[str, Any], overlay: Mapping[str, Any]) -> ServiceSpec:
    versions = list(data["versions"])
    default = overlay.get("default_version", versions[0])
    versions.remove(default)
    versions.insert(0, default)
    raw = data["versions"]
    found = [c["name"] for v in versions for c in raw[v]["collections"]]
    patterns = list(dict.fromkeys([p for p in overlay.get("primary_patterns", ()) if p in found] + found))
    letters = {letter for v in versions for c in raw[v]["collections"] for letter in c["verbs"]}
    verbs = {_VERB_LETTERS[letter] for letter in letters}
    first = raw[default]["methods"]
    cancel = first.get("cancel")
    wait = next((raw[v]["methods"]["wait"]["wait"] for v in versions if "wait" in raw[v]["methods"]), None)
    listing = first.get("list")
    version_hosts = {v: d["host"] for v, d in data["versions"].items() if "host" in d}
    return ServiceSpec(
        key=key,
        title=overlay.get("title", _short_title(data["title"])),
        host=data["host"],
        versions=tuple(versions),
        name_patterns=tuple(patterns),
        list_shape=ListShape.NAME if listing is not None and listing.get("list") == "name" else ListShape.PARENT,
        regional_host=overlay.get("regional_host"),
        global_locations=frozenset(overlay.get("global_locations", ("global",))),
        cancel_body={} if cancel is not None and cancel.get("body") else None,
        missing_verbs=frozenset(set(Verb) - verbs),
        wait_style=WaitStyle(wait) if wait else WaitStyle.NONE,
        api=_LazyApi(raw, versions),
        extra_hosts=tuple(data.get("mtls", ())),
        version_hosts=version_hosts,
        endpoints={t: tuple(locs) for t, locs in data.get("endpoints", {}).items()},
        preferred_endpoints=tuple(overlay.get("preferred_endpoints", ())),
        retired_hosts=overlay.get("retired_hosts", {}),
    )


def _load_rows() -> dict[str, ServiceSpec]:
    table = json.loads(TABLE_FILE.read_text(encoding="utf-8"))
    overlay = json.loads(OVERLAY_FILE.read_text(encoding="utf-8"))["apis"]
    unknown = set(overlay) - set(table["apis"])
    if unknown:
        raise RuntimeError(f"service_overlay.json names APIs the table does not have: {sorted(unknown)}")
    return {key: _row(key, data, overlay.get(key, {})) for key, data in table["apis"].items()}


_lock = threading.Lock()
_builtin: set[str] = set()  # the generated rows' keys, filled with the table
_table: dict[str, ServiceSpec] = {}


def _rows() -> dict[str, ServiceSpec]:
    """The table, loaded from the generated data the first time a name is resolved (imports stay cheap)."""
    if not _builtin:
        with _lock:
            if not _builtin:
                rows = _load_rows()
                for key, row in rows.items():
                    _table.setdefault(key, row)
                _builtin.update(rows)
    return _table


class UnknownServiceError(KeyError):
    """A service key that is not in the table."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown service"


def get_service(key: str) -> ServiceSpec:
    table = _rows()
    try:
        return table[key]
    except KeyError:
        close = [k for k in sorted(table) if key and (key in k or k in key)]
        hint = f"; did you mean {', '.join(close)}?" if close else "; list them with service_verbs()"
        raise UnknownServiceError(f"unknown service {key!r} ({len(table)} services known{hint})") from None


def register_service(spec: ServiceSpec, *, replace: bool = False) -> None:
    """Add a row at runtime (e.g. a service this release does not know yet)."""
    table = _rows()
    with _lock:
        if spec.key in table and not replace:
            raise ValueError(f"service {spec.key!r} is already registered; pass replace=True to override it")
        table[spec.key] = spec
        _by_host.clear()


def unregister_service(key: str) -> None:
    """Remove a row added with :func:`register_service`; the built-in rows cannot be removed."""
    table = _rows()
    with _lock:
        if key in _builtin:
            raise ValueError(f"built-in service {key!r} cannot be unregistered")
        table.pop(key, None)
        _by_host.clear()


def services() -> Iterator[ServiceSpec]:
    """Every registered row, in a stable order."""
    return iter(sorted(_rows().values(), key=lambda s: s.key))


_by_host: dict[str, ServiceSpec | None] = {}


def service_for_host(host: str) -> ServiceSpec | None:
    """The row whose global, regional, ``.rep`` or mTLS endpoint is ``host`` (no port), or ``None``."""
    host = host.lower()
    if host in _by_host:
        return _by_host[host]
    found = None
    for spec in services():
        if host in spec.retired_hosts or spec.known_hosts().fullmatch(host):
            found = spec
            break
    if len(_by_host) < 4096:
        _by_host[host] = found
    return found


@dataclass(frozen=True)
class ServiceVerbs:
    """One line of :func:`service_verbs`: a service, its versions, and per version the verbs its collections have."""

    key: str
    title: str
    host: str
    versions: tuple[str, ...]
    verbs: Mapping[str, tuple[str, ...]]  # version -> verbs any collection of that version has
    collections: int


def service_verbs() -> list[ServiceVerbs]:
    """Every service of the table with its verbs per version, sorted by key (for a ``services`` listing)."""
    out = []
    for spec in services():
        per_version = {
            v: tuple(verb.value for verb in Verb if any(verb in c.methods for c in spec.collections(v)))
            for v in spec.versions
        }
        count = sum(len(spec.collections(v)) for v in spec.versions)
        out.append(ServiceVerbs(spec.key, spec.title, spec.host, spec.versions, per_version, count))
    return out

"""The service table: every per-service difference of the Operations REST surface, as data.

Adding a service is adding a row (or calling :func:`register_service` at runtime). Nothing else in the
library branches on a service's key: it reads the row.

Facts come from googleapis' service YAMLs (https://github.com/googleapis/googleapis: each API's ``*_v*.yaml``
and ``google.api.http`` rules) and the Discovery documents (https://www.googleapis.com/discovery/v1/apis).
"""

from __future__ import annotations

import enum
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


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
class ServiceSpec:
    """One row of the service table.

    ``host``: the global endpoint. ``regional_host``: a template with ``{location}`` for the regional
    endpoint Google documents, or ``None`` when the service has one endpoint. ``global_locations``: the
    location values that mean "use the global host". ``name_patterns``: operation name patterns, ``*`` one
    segment, ``**`` one or more segments. ``cancel_body``: ``None`` sends no body, ``{}`` sends ``{}``.
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
    _compiled: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.key or not re.fullmatch(r"[a-z][a-z0-9_]*", self.key):
            raise ValueError(f"service key must be lower_snake_case, got {self.key!r}")
        if not self.versions:
            raise ValueError(f"service {self.key!r} needs at least one API version")
        if not self.name_patterns:
            raise ValueError(f"service {self.key!r} needs at least one operation name pattern")
        if self.cancel_body is not None:
            object.__setattr__(self, "cancel_body", MappingProxyType(dict(self.cancel_body)))
        object.__setattr__(self, "_compiled", tuple(_compile(p) for p in self.name_patterns))

    @property
    def default_version(self) -> str:
        return self.versions[0]

    def supports(self, verb: Verb) -> bool:
        if verb is Verb.WAIT:
            return self.wait_style is not WaitStyle.NONE and verb not in self.missing_verbs
        return verb not in self.missing_verbs

    def matches(self, name: str) -> bool:
        """True when ``name`` (relative, no version) fits one of this service's operation name patterns."""
        return any(p.fullmatch(name) for p in self._compiled)

    def host_for(self, location: str | None) -> str:
        """The endpoint host for an operation in ``location`` (``None``: no location in the name)."""
        if self.regional_host and location and location not in self.global_locations:
            return self.regional_host.format(location=location)
        return self.host

    def known_hosts(self) -> re.Pattern[str]:
        """A pattern that matches every host this service answers on (global and regional)."""
        alts = [re.escape(self.host)]
        if self.regional_host:
            alts.append(re.escape(self.regional_host).replace(re.escape("{location}"), r"[a-z][a-z0-9-]{0,62}"))
        return re.compile("(?:" + "|".join(alts) + ")")


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


_OP_ID = "operations/*"

_ROWS: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        key="dataproc",
        title="Dataproc",
        host="dataproc.googleapis.com",
        regional_host="{location}-dataproc.googleapis.com",
        versions=("v1",),
        name_patterns=(f"projects/*/regions/*/{_OP_ID}", f"projects/*/locations/*/{_OP_ID}"),
        list_shape=ListShape.NAME,
        cancel_body=None,
    ),
    ServiceSpec(
        key="datafusion",
        title="Data Fusion",
        host="datafusion.googleapis.com",
        versions=("v1", "v1beta1"),
        name_patterns=(f"projects/*/locations/*/{_OP_ID}",),
        cancel_body={},
    ),
    ServiceSpec(
        key="dialogflow",
        title="Dialogflow",
        host="dialogflow.googleapis.com",
        regional_host="{location}-dialogflow.googleapis.com",
        versions=("v2", "v2beta1", "v3", "v3beta1"),
        name_patterns=(f"projects/*/{_OP_ID}", f"projects/*/locations/*/{_OP_ID}"),
        cancel_body=None,
        missing_verbs=frozenset({Verb.DELETE}),
    ),
    ServiceSpec(
        key="datalineage",
        title="Data Lineage",
        host="datalineage.googleapis.com",
        versions=("v1",),
        name_patterns=(f"projects/*/locations/*/{_OP_ID}",),
        cancel_body={},
    ),
    ServiceSpec(
        key="aiplatform",
        title="Vertex AI",
        host="aiplatform.googleapis.com",
        regional_host="{location}-aiplatform.googleapis.com",
        versions=("v1", "v1beta1"),
        name_patterns=(f"projects/*/locations/*/{_OP_ID}", f"projects/*/locations/*/**/{_OP_ID}"),
        cancel_body=None,
        wait_style=WaitStyle.QUERY,
    ),
    ServiceSpec(
        key="spanner",
        title="Spanner",
        host="spanner.googleapis.com",
        versions=("v1",),
        name_patterns=(
            f"projects/*/instances/*/{_OP_ID}",
            f"projects/*/instances/*/databases/*/{_OP_ID}",
            f"projects/*/instances/*/backups/*/{_OP_ID}",
            f"projects/*/instanceConfigs/*/{_OP_ID}",
        ),
        list_shape=ListShape.NAME,
        cancel_body=None,
    ),
    ServiceSpec(
        key="alloydb",
        title="AlloyDB",
        host="alloydb.googleapis.com",
        versions=("v1", "v1beta", "v1alpha"),
        name_patterns=(f"projects/*/locations/*/{_OP_ID}",),
        cancel_body={},
    ),
    ServiceSpec(
        key="run",
        title="Cloud Run",
        host="run.googleapis.com",
        versions=("v2",),
        name_patterns=(f"projects/*/locations/*/{_OP_ID}",),
        missing_verbs=frozenset({Verb.CANCEL}),
        wait_style=WaitStyle.BODY,
    ),
    ServiceSpec(
        key="composer",
        title="Cloud Composer",
        host="composer.googleapis.com",
        versions=("v1", "v1beta1"),
        name_patterns=(f"projects/*/locations/*/{_OP_ID}",),
        missing_verbs=frozenset({Verb.CANCEL}),
    ),
)

_lock = threading.Lock()
_table: dict[str, ServiceSpec] = {row.key: row for row in _ROWS}


class UnknownServiceError(KeyError):
    """A service key that is not in the table."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown service"


def get_service(key: str) -> ServiceSpec:
    try:
        return _table[key]
    except KeyError:
        known = ", ".join(sorted(_table))
        raise UnknownServiceError(f"unknown service {key!r}; known services: {known}") from None


def register_service(spec: ServiceSpec, *, replace: bool = False) -> None:
    """Add a row at runtime (e.g. a service this release does not know yet)."""
    with _lock:
        if spec.key in _table and not replace:
            raise ValueError(f"service {spec.key!r} is already registered; pass replace=True to override it")
        _table[spec.key] = spec


def unregister_service(key: str) -> None:
    """Remove a row added with :func:`register_service`; the built-in rows cannot be removed."""
    with _lock:
        if any(row.key == key for row in _ROWS):
            raise ValueError(f"built-in service {key!r} cannot be unregistered")
        _table.pop(key, None)


def services() -> Iterator[ServiceSpec]:
    """Every registered row, in a stable order."""
    return iter(sorted(_table.values(), key=lambda s: s.key))


def service_for_host(host: str) -> ServiceSpec | None:
    """The row whose global or regional endpoint is ``host`` (no port), or ``None``."""
    host = host.lower()
    for spec in services():
        if spec.known_hosts().fullmatch(host):
            return spec
    return None

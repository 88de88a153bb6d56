"""Console URLs about an operation: its audit logs, and the resource it acts on where the console has a page.

Pure functions (no I/O). Google's console has no page for a long-running *operation*; two honest links exist:

- **Operation logs**: Logs Explorer filtered on the operation. Audit log entries written for a long-running
  call carry the operation in ``LogEntry.operation.id`` (https://cloud.google.com/logging/docs/reference/v2/rest/v2/LogEntry,
  field ``operation``; https://cloud.google.com/logging/docs/audit/understanding-audit-logs). Some services
  write the full operation name there, others only its id, so the query uses the *has* operator on the last
  segment, ``operation.id:"<id>"`` (https://cloud.google.com/logging/docs/view/logging-query-language).
  The URL has the form the Logs Explorer itself shows: ``/logs/query;query=<url-encoded query>?project=<p>``.
- **Target resource**: the resource an operation creates or changes, where its metadata or name names it and
  the console has a page for that kind. Candidates, in order: the AIP-151 metadata field ``target``
  (https://google.aip.dev/151: Data Fusion, AlloyDB), ``resource`` (Composer), Dataproc's ``batch`` and
  ``clusterName`` (``BatchOperationMetadata``, ``ClusterOperationMetadata``), Spanner's ``database`` /
  ``instance.name``, and the operation name's own parent (nested names such as Spanner's
  ``projects/p/instances/i/databases/d/operations/o`` or Vertex AI's ``.../trainingPipelines/t/operations/o``).
  The page templates are the ones the google provider uses for these resources (apache/airflow,
  ``providers/google/src/airflow/providers/google/cloud/links/``: ``dataproc.py``, ``vertex_ai.py``,
  ``spanner.py``, ``datafusion.py``, ``alloy_db.py``). A kind with no known page gets no link.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

__all__ = [
    "CONSOLE",
    "TARGET_PAGES",
    "TargetPage",
    "logs_url",
    "needs_metadata",
    "resource_url",
    "target_candidates",
    "target_resource",
    "target_url",
]

CONSOLE = "https://console.cloud.google.com"
_SEG = r"[A-Za-z0-9][A-Za-z0-9._~-]*"


@dataclass(frozen=True)
class TargetPage:
    """A console page for resources of one kind of one service: ``pattern`` over the resource name."""

    service: str
    kind: str
    pattern: re.Pattern[str]
    template: str  # over the pattern's named groups, each URL-quoted

    def url(self, resource: str) -> str | None:
        match = self.pattern.fullmatch(resource)
        if match is None:
            return None
        fields = {k: quote(v, safe="") for k, v in match.groupdict().items()}
        return CONSOLE + self.template.format(**fields)


def _page(service: str, kind: str, pattern: str, template: str) -> TargetPage:
    return TargetPage(service, kind, re.compile(pattern.replace("{seg}", _SEG)), template)


_P = r"projects/(?P<project>{seg})"
_L = r"/locations/(?P<location>{seg})"

TARGET_PAGES: tuple[TargetPage, ...] = (
    _page(
        "dataproc",
        "cluster",
        _P + r"/regions/(?P<location>{seg})/clusters/(?P<id>{seg})",
        "/dataproc/clusters/{id}/monitoring?region={location}&project={project}",
    ),
    _page(
        "dataproc",
        "batch",
        _P + _L + r"/batches/(?P<id>{seg})",
        "/dataproc/batches/{location}/{id}/monitoring?project={project}",
    ),
    _page(
        "aiplatform",
        "training pipeline",
        _P + _L + r"/trainingPipelines/(?P<id>{seg})",
        "/vertex-ai/locations/{location}/training/{id}/cpu?project={project}",
    ),
    _page(
        "aiplatform",
        "pipeline run",
        _P + _L + r"/pipelineJobs/(?P<id>{seg})",
        "/vertex-ai/locations/{location}/pipelines/runs/{id}?project={project}",
    ),
    _page(
        "aiplatform",
        "endpoint",
        _P + _L + r"/endpoints/(?P<id>{seg})",
        "/vertex-ai/locations/{location}/endpoints/{id}?project={project}",
    ),
    _page(
        "aiplatform",
        "dataset",
        _P + _L + r"/datasets/(?P<id>{seg})",
        "/vertex-ai/locations/{location}/datasets/{id}/analyze?project={project}",
    ),
    _page(
        "spanner",
        "database",
        _P + r"/instances/(?P<instance>{seg})/databases/(?P<id>{seg})",
        "/spanner/instances/{instance}/databases/{id}/details/tables?project={project}",
    ),
    _page(
        "spanner",
        "instance",
        _P + r"/instances/(?P<id>{seg})",
        "/spanner/instances/{id}/details/databases?project={project}",
    ),
    _page(
        "datafusion",
        "instance",
        _P + _L + r"/instances/(?P<id>{seg})",
        "/data-fusion/locations/{location}/instances/{id}?project={project}",
    ),
    _page(
        "alloydb",
        "cluster",
        _P + _L + r"/clusters/(?P<id>{seg})(?:/instances/{seg})?",
        "/alloydb/locations/{location}/clusters/{id}?project={project}",
    ),
)


def needs_metadata(name: str, service: str) -> bool:
    """Whether only the metadata can name a target with a console page (no page from the name alone)."""
    if target_url(name, service, None) is not None:
        return False
    return any(page.service == service for page in TARGET_PAGES if page.service in _TARGET_IN_METADATA)


# Services whose operation names are not nested under the resource: the target is in the metadata only.
_TARGET_IN_METADATA = frozenset({"dataproc", "datafusion", "alloydb"})


def _split(name: str) -> tuple[str, str] | None:
    """(parent, operation id) of ``.../operations/<id>``; ``None`` for any other shape."""
    parent, sep, op_id = name.rpartition("/operations/")
    if not sep:
        parent, sep, op_id = "", "operations/", name.removeprefix("operations/")
        if not name.startswith("operations/"):
            return None
    if not op_id or "/" in op_id:
        return None
    return parent, op_id


def _project_of(name: str) -> str | None:
    parts = name.split("/")
    return parts[1] if len(parts) > 1 and parts[0] == "projects" and parts[1] else None


def logs_url(name: str, *, project: str | None = None) -> str | None:
    """Logs Explorer on the audit log entries of operation ``name`` (relative name); ``None`` without a project."""
    split = _split(name)
    project = project or _project_of(name)
    if split is None or not project:
        return None
    query = f'operation.id:"{split[1]}"'
    return f"{CONSOLE}/logs/query;query={quote(query, safe='')}?project={quote(project, safe='')}"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def target_candidates(name: str, metadata: Mapping[str, Any] | None) -> list[str]:
    """Resource names the operation may act on, most specific first (see the module docstring)."""
    md: Mapping[str, Any] = metadata or {}
    found: list[str | None] = [_text(md.get("target")), _text(md.get("resource")), _text(md.get("batch"))]
    found.append(_text(md.get("database")))
    instance = md.get("instance")
    if isinstance(instance, Mapping):
        found.append(_text(instance.get("name")))
    cluster = _text(md.get("clusterName"))
    split = _split(name)
    parent = split[0] if split else ""
    if cluster and re.fullmatch(r"projects/[^/]+/regions/[^/]+", parent):
        found.append(f"{parent}/clusters/{cluster}")
    if parent and not re.fullmatch(r"projects/[^/]+(/(locations|regions)/[^/]+)?", parent):
        found.append(parent)  # nested under a resource, not just a project or a location
    return [c.removeprefix("//").split("/", 1)[1] if c.startswith("//") else c for c in found if c]


def _target(name: str, service: str, metadata: Mapping[str, Any] | None) -> tuple[str, str] | None:
    for candidate in target_candidates(name, metadata):
        url = resource_url(service, candidate)
        if url is not None:
            return candidate, url
    return None


def target_url(name: str, service: str, metadata: Mapping[str, Any] | None) -> str | None:
    """The console page of the operation's target resource, or ``None`` where no honest link exists."""
    found = _target(name, service, metadata)
    return found[1] if found else None


def target_resource(name: str, service: str, metadata: Mapping[str, Any] | None) -> str | None:
    """The target resource's relative name (``projects/p/regions/r/clusters/c``), where the console has a page
    for it: small and JSON-safe, what a task records so its link needs no request (see :func:`resource_url`)."""
    found = _target(name, service, metadata)
    return found[0] if found else None


def resource_url(service: str, resource: str) -> str | None:
    """The console page of ``resource`` (a relative name) of ``service``; ``None`` when no page matches it."""
    for page in TARGET_PAGES:
        if page.service == service:
            url = page.url(resource)
            if url is not None:
                return url
    return None

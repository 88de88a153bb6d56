"""An operation's own progress, read from its metadata: the companion of :attr:`.model.Operation.state`.

``Operation.state`` decides *whether* an operation is done and how it ended; this module only describes how far a
running one has got, for display (the CLI's ``wait``, logs). It never feeds a decision, so an unknown or odd
shape gives "no progress reported" instead of an error.

Shapes read, most specific first (each from the service's public metadata message):

- a percentage: ``progressPercent`` (Spanner ``OperationProgress``, top level or under ``progress``, or the last
  entry of a ``progress`` list: DDL statements), ``progressPercentage`` / ``progress_percentage`` (Vertex AI,
  top level or under ``genericMetadata``), ``percentComplete``;
- work counters: ``progress{Documents,Entities,Bytes}.{completedWork,estimatedWork}`` (Firestore / Datastore
  admin) as a percentage;
- a phase: Dataproc ``status.state`` (+ ``status.innerState`` when it differs), else a top-level ``state``
  (Data Lineage, Composer, Dialogflow, Dataproc workflows and batches);
- a detail: Dataproc ``statusHistory`` (the states passed through), a Dataproc workflow's ``graph.nodes``
  (how many jobs completed), a ``progressMessage`` / ``statusMessage`` / ``statusDetail``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .model import Operation

__all__ = ["Progress", "progress_of"]

_MAX_TEXT = 80


@dataclass(frozen=True)
class Progress:
    """What the operation says about its own progress; every field ``None`` when it says nothing."""

    percent: float | None = None  # 0..100
    phase: str | None = None  # the service's own state word, e.g. "RUNNING", "PENDING", "DONE"
    detail: str | None = None  # e.g. "PENDING → RUNNING", "2/5 jobs done"

    @property
    def reported(self) -> bool:
        return self.percent is not None or self.phase is not None or self.detail is not None

    def describe(self) -> str:
        """One short human line, e.g. ``42% · RUNNING · PENDING → RUNNING``; empty when nothing is reported."""
        parts = []
        if self.percent is not None:
            parts.append(f"{self.percent:.0f}%")
        if self.phase is not None:
            parts.append(self.phase)
        if self.detail is not None:
            parts.append(self.detail)
        return " · ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {"percent": self.percent, "phase": self.phase, "detail": self.detail}


def _path(node: object, *keys: str | int) -> object:
    for key in keys:
        if isinstance(key, int):
            if not isinstance(node, list) or not node or not -len(node) <= key < len(node):
                return None
            node = node[key]
        else:
            if not isinstance(node, Mapping):
                return None
            node = node.get(key)
    return node


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().rstrip("%"))
        except ValueError:
            return None
    else:
        return None
    if math.isnan(number) or math.isinf(number):
        return None
    return min(100.0, max(0.0, number))


def _ratio(counter: object) -> float | None:
    done, total = _path(counter, "completedWork"), _path(counter, "estimatedWork")
    done_n, total_n = _number_raw(done), _number_raw(total)
    if done_n is None or total_n is None or total_n <= 0:
        return None
    return min(100.0, max(0.0, 100.0 * done_n / total_n))


def _number_raw(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):  # int64 fields come as JSON strings
        try:
            return float(value)
        except ValueError:
            return None
    return None


_Getter = Callable[[Mapping[str, Any]], object]

_PERCENT_GETTERS: tuple[_Getter, ...] = (
    lambda md: md.get("progressPercent"),
    lambda md: _path(md, "progress", "progressPercent"),
    lambda md: _path(md, "progress", -1, "progressPercent"),
    lambda md: md.get("progressPercentage"),
    lambda md: md.get("progress_percentage"),
    lambda md: _path(md, "genericMetadata", "progressPercentage"),
    lambda md: md.get("percentComplete"),
    lambda md: _path(md, "progress", "percentComplete"),
)

_RATIO_GETTERS: tuple[_Getter, ...] = (
    lambda md: md.get("progressDocuments"),
    lambda md: md.get("progressEntities"),
    lambda md: md.get("progressBytes"),
)


def _text(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = " ".join(value.split())
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def _percent(md: Mapping[str, Any]) -> float | None:
    for getter in _PERCENT_GETTERS:
        found = _number(getter(md))
        if found is not None:
            return found
    for getter in _RATIO_GETTERS:
        found = _ratio(getter(md))
        if found is not None:
            return found
    return None


def _phase(md: Mapping[str, Any]) -> str | None:
    state = _text(_path(md, "status", "state"))
    if state is not None:
        inner = _text(_path(md, "status", "innerState"))
        return state if inner is None or inner == state else f"{state} ({inner})"
    return _text(md.get("state"))


def _detail(md: Mapping[str, Any]) -> str | None:
    history = md.get("statusHistory")
    if isinstance(history, list) and history:
        states = [s for s in (_text(_path(h, "state")) for h in history) if s is not None]
        current = _text(_path(md, "status", "state"))
        if current is not None:
            states.append(current)
        chain = [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]
        if len(chain) > 1:
            return _text(" → ".join(chain[-4:]))
    nodes = _path(md, "graph", "nodes")
    if isinstance(nodes, list) and nodes:
        completed = sum(1 for n in nodes if _path(n, "state") == "COMPLETED")
        return f"{completed}/{len(nodes)} jobs completed"
    for key in ("progressMessage", "statusMessage", "statusDetail"):
        found = _text(md.get(key))
        if found is not None:
            return found
    return None


def progress_of(op: Operation) -> Progress:
    """The progress ``op``'s metadata reports (see the module docstring for the shapes read)."""
    md = op.metadata
    if not isinstance(md, Mapping):
        return Progress()
    return Progress(percent=_percent(md), phase=_phase(md), detail=_detail(md))

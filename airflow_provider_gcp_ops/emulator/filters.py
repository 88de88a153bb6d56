"""The list ``filter``: a small, real subset of AIP-160, plus gcloud's Dataproc JSON matcher.

Grammar::

    filter     := <empty> | json-object | condition ("AND" condition)*
    condition  := field ("=" | "!=" | ":") value
    field      := name ("." name)*          e.g. done, name, metadata.status.state, status.state, clusterName
    value      := "quoted string" | bare-word | *

Fields: ``done``, ``name``, ``error.code``, ``metadata.<path>``; an unqualified field that is not a top-level
Operation field is looked up in ``metadata`` (Dataproc writes ``status.state = RUNNING AND clusterName = x``),
``snake_case`` segments also match their ``camelCase`` form. ``=`` compares the JSON scalar's text
(``true``/``false`` for booleans); ``!=`` is its negation (a missing field is "not equal"); ``:`` is "has": a
substring of a string, an element of a list, a key of an object, or presence with ``*``.

JSON form (``gcloud dataproc operations list --state-filter``)::

    {"operation_state_matcher": "ACTIVE" | "NON_ACTIVE" | "ALL", "cluster_name": "x", <other metadata keys>}
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Predicate = Callable[[Mapping[str, Any]], bool]

_TOP_LEVEL = frozenset({"name", "done", "error", "response", "metadata"})
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<op>!=|=|:)
      | (?P<quoted>"(?:[^"\\]|\\.)*")
      | (?P<word>[^\s=!:"()]+)
      | (?P<bad>\S)
    )""",
    re.VERBOSE,
)
_FIELD = re.compile(r"^[A-Za-z_@][A-Za-z0-9_@]*(?:\.[A-Za-z_@][A-Za-z0-9_@]*)*$")
_MISSING = object()


class FilterError(ValueError):
    """The filter does not parse; the message says why (it goes back to the client in a 400)."""


@dataclass(frozen=True)
class _Condition:
    path: tuple[str, ...]
    op: str
    value: str

    def __call__(self, operation: Mapping[str, Any]) -> bool:
        actual = _resolve(operation, self.path)
        if self.op == "=":
            return _equals(actual, self.value)
        if self.op == "!=":
            return not _equals(actual, self.value)
        return _has(actual, self.value)


def parse(text: str | None) -> Predicate:
    """Compile ``text`` into a predicate over an Operation's JSON dict. Raises :class:`FilterError`."""
    if text is None or not text.strip():
        return _always
    stripped = text.strip()
    if stripped.startswith("{"):
        return _parse_json(stripped)
    conditions = _parse_conditions(_tokenize(stripped))

    def predicate(operation: Mapping[str, Any]) -> bool:
        return all(c(operation) for c in conditions)

    return predicate


def _always(_operation: Mapping[str, Any]) -> bool:
    return True


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:  # only trailing whitespace is left
            break
        pos = match.end()
        kind = match.lastgroup
        if kind is None:
            break
        value = match.group(kind)
        if kind == "bad":
            raise FilterError(f"Invalid filter: unexpected character {value!r} at offset {match.start(kind)}.")
        tokens.append((kind, value))
    return tokens


def _parse_conditions(tokens: Sequence[tuple[str, str]]) -> list[_Condition]:
    conditions: list[_Condition] = []
    i = 0
    while True:
        if i + 3 > len(tokens):
            raise FilterError("Invalid filter: expected <field> <operator> <value>.")
        (k_field, field), (k_op, op), (k_value, value) = tokens[i : i + 3]
        if k_field != "word" or not _FIELD.match(field) or field in {"AND", "OR", "NOT"}:
            raise FilterError(f"Invalid filter: {field!r} is not a field name.")
        if k_op != "op":
            raise FilterError(f"Invalid filter: expected '=', '!=' or ':' after {field!r}, got {op!r}.")
        if k_value == "quoted":
            value = json.loads(value)
        elif k_value != "word" or value in {"AND", "OR", "NOT"}:
            raise FilterError(f"Invalid filter: expected a value after {field} {op}.")
        conditions.append(_Condition(_path(field), op, value))
        i += 3
        if i == len(tokens):
            return conditions
        kind, word = tokens[i]
        if kind != "word" or word != "AND":
            raise FilterError(f"Invalid filter: expected AND, got {word!r} (only AND conjunctions are supported).")
        i += 1


def _path(field: str) -> tuple[str, ...]:
    parts = tuple(field.split("."))
    if parts[0] in _TOP_LEVEL:
        return parts
    return ("metadata", *parts)


def _parse_json(text: str) -> Predicate:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise FilterError(f"Invalid filter: malformed JSON ({exc}).") from exc
    if not isinstance(data, dict):
        raise FilterError("Invalid filter: a JSON filter must be an object.")
    conditions: list[Predicate] = []
    for key, value in data.items():
        if not isinstance(key, str):  # pragma: no cover - json keys are always str
            continue
        if key == "operation_state_matcher":
            conditions.append(_state_matcher(value))
        elif isinstance(value, (str, int, float, bool)):
            field = "clusterName" if key == "cluster_name" else key
            conditions.append(_Condition(("metadata", *field.split(".")), "=", _text(value)))
        else:
            raise FilterError(f"Invalid filter: the value of {key!r} must be a string.")

    def predicate(operation: Mapping[str, Any]) -> bool:
        return all(c(operation) for c in conditions)

    return predicate


def _state_matcher(value: object) -> Predicate:
    matcher = str(value).upper() if isinstance(value, str) else ""
    if matcher == "ALL":
        return _always
    if matcher == "ACTIVE":
        return lambda op: not op.get("done", False)
    if matcher == "NON_ACTIVE":
        return lambda op: bool(op.get("done", False))
    raise FilterError("Invalid filter: operation_state_matcher must be ALL, ACTIVE or NON_ACTIVE.")


def _camel(segment: str) -> str:
    head, *rest = segment.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _resolve(doc: Mapping[str, Any], path: tuple[str, ...]) -> object:
    if path == ("done",):
        return bool(doc.get("done", False))
    current: object = doc
    for segment in path:
        if not isinstance(current, Mapping):
            return _MISSING
        if segment in current:
            current = current[segment]
        elif _camel(segment) in current:
            current = current[_camel(segment)]
        else:
            return _MISSING
    return current


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _equals(actual: object, expected: str) -> bool:
    if actual is _MISSING or isinstance(actual, (Mapping, list)):
        return False
    if isinstance(actual, bool):
        return _text(actual) == expected.lower()
    if isinstance(actual, (int, float)) and not isinstance(actual, bool):
        try:
            return float(expected) == float(actual)
        except ValueError:
            return False
    return _text(actual) == expected


def _has(actual: object, expected: str) -> bool:
    if actual is _MISSING:
        return False
    if expected == "*":
        return True
    if isinstance(actual, Mapping):
        return expected in actual
    if isinstance(actual, list):
        return any(_equals(item, expected) for item in actual)
    return expected in _text(actual)

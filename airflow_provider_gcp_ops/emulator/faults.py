"""Seeded, deterministic fault injection on the Operations routes.

A plan is an ordered list of rules and one ``random.Random(seed)``. For each request on a Google route, every
rule that matches the route (and the optional ``match`` substring of the path, and still has ``count`` left)
draws one number in order; the first rule whose draw is below its ``probability`` fires. The same seed and the
same request sequence give the same faults.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ROUTES = frozenset({"get", "list", "cancel", "delete", "wait", "token", "*"})  # token: oauth.py
_RULE_KEYS = frozenset({"route", "kind", "probability", "count", "retry_after_s", "latency_s", "stall_s", "match"})


class FaultKind(str, enum.Enum):
    TOO_MANY_REQUESTS = "429"  # RESOURCE_EXHAUSTED + Retry-After + RetryInfo + ErrorInfo RATE_LIMIT_EXCEEDED
    INTERNAL = "500"  # INTERNAL, JSON
    BAD_GATEWAY = "502"  # an HTML page, as a proxy writes it
    UNAVAILABLE = "503"  # UNAVAILABLE, JSON
    RESET = "reset"  # the TCP connection is reset, no response at all
    LATENCY = "latency"  # wait latency_s, then serve normally
    STALL = "stall"  # wait stall_s (longer than a client's read timeout), then serve normally


class FaultConfigError(ValueError):
    """A fault plan that does not validate; the message names the rule and the key."""


@dataclass
class FaultRule:
    route: str
    kind: FaultKind
    probability: float = 1.0
    count: int | None = None
    retry_after_s: float = 1.0
    latency_s: float = 0.2
    stall_s: float = 30.0
    match: str | None = None
    injected: int = 0

    def applies(self, route: str, path: str) -> bool:
        if self.route not in ("*", route):
            return False
        if self.count is not None and self.injected >= self.count:
            return False
        return self.match is None or self.match in path

    def as_dict(self) -> dict[str, Any]:
        return {
            "route": self.route,
            "kind": self.kind.value,
            "probability": self.probability,
            "count": self.count,
            "retry_after_s": self.retry_after_s,
            "latency_s": self.latency_s,
            "stall_s": self.stall_s,
            "match": self.match,
            "injected": self.injected,
        }


class FaultPlan:
    def __init__(self, rules: Sequence[FaultRule] = (), seed: int = 0) -> None:
        self.rules = list(rules)
        self.seed = seed
        self._rng = random.Random(seed)  # noqa: S311 - reproducible test faults, not crypto

    def decide(self, route: str, path: str) -> FaultRule | None:
        if not self.rules:
            return None
        for rule in self.rules:
            if not rule.applies(route, path):
                continue
            if self._rng.random() < rule.probability:
                rule.injected += 1
                return rule
        return None

    def as_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "rules": [r.as_dict() for r in self.rules]}


def parse_plan(data: object, default_seed: int) -> FaultPlan:
    """``{"seed": 1, "rules": [...]}`` (or a bare list of rules) into a plan. Raises :class:`FaultConfigError`."""
    if isinstance(data, list):
        data = {"rules": data}
    if not isinstance(data, Mapping):
        raise FaultConfigError('faults must be a JSON object {"seed": <int>, "rules": [...]}')
    unknown = set(data) - {"seed", "rules"}
    if unknown:
        raise FaultConfigError(f"unknown key(s) {sorted(unknown)}; expected 'seed' and 'rules'")
    seed = data.get("seed", default_seed)
    if seed is None:
        seed = default_seed
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise FaultConfigError("'seed' must be an integer")
    rules = data.get("rules", [])
    if not isinstance(rules, list):
        raise FaultConfigError("'rules' must be a list")
    return FaultPlan([parse_rule(r, i) for i, r in enumerate(rules)], seed)


def parse_rule(raw: object, index: int = 0) -> FaultRule:
    where = f"rules[{index}]"
    if not isinstance(raw, Mapping):
        raise FaultConfigError(f"{where} must be an object")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise FaultConfigError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_RULE_KEYS)}")
    route = raw.get("route", "*")
    if route not in ROUTES:
        raise FaultConfigError(f"{where}.route must be one of {sorted(ROUTES)}, got {route!r}")
    kind_raw = raw.get("kind")
    if isinstance(kind_raw, int) and not isinstance(kind_raw, bool):
        kind_raw = str(kind_raw)
    try:
        kind = FaultKind(kind_raw)
    except ValueError:
        kinds = [k.value for k in FaultKind]
        raise FaultConfigError(f"{where}.kind must be one of {kinds}, got {kind_raw!r}") from None
    probability = _number(raw, "probability", 1.0, where)
    if not 0.0 <= probability <= 1.0:
        raise FaultConfigError(f"{where}.probability must be between 0 and 1")
    count = raw.get("count")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 0):
        raise FaultConfigError(f"{where}.count must be a non-negative integer or null")
    match = raw.get("match")
    if match is not None and not isinstance(match, str):
        raise FaultConfigError(f"{where}.match must be a string")
    return FaultRule(
        route=route,
        kind=kind,
        probability=probability,
        count=count,
        retry_after_s=_number(raw, "retry_after_s", 1.0, where),
        latency_s=_number(raw, "latency_s", 0.2, where),
        stall_s=_number(raw, "stall_s", 30.0, where),
        match=match or None,
    )


def _number(raw: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = raw.get(key, default)
    if value is None:
        return default
    if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value) or value < 0:
        raise FaultConfigError(f"{where}.{key} must be a non-negative number")
    if value > 3600:
        raise FaultConfigError(f"{where}.{key} must be at most 3600 seconds")
    return float(value)

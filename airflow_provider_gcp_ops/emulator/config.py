"""Runtime configuration (``PUT /emulator/v1/config``): auth, time scale, denied projects, rejected tokens, limits,
latency, request quota."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CONFIG_KEYS = (
    "auth",
    "time_scale",
    "rejected_tokens",
    "denied_projects",
    "wait_cap_s",
    "default_page_size",
    "max_page_size",
    "latency_s",
    "rate_limit_per_s",
)


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class EmulatorConfig:
    auth: bool = True  # require "Authorization: Bearer <non-empty>"
    time_scale: float = 1.0  # virtual seconds per real second
    rejected_tokens: frozenset[str] = frozenset()  # bearer tokens answered with 401 (to test refresh-on-401)
    denied_projects: frozenset[str] = frozenset()  # projects whose operations answer 403 PERMISSION_DENIED
    wait_cap_s: float = 30.0  # the longest a :wait holds a request (also its default timeout), real seconds
    default_page_size: int = 100  # list pageSize when absent or 0
    max_page_size: int = 1000  # larger pageSize values are coerced down (AIP-158)
    latency_s: float = 0.0  # every Google-route request waits this long (real seconds) before it is served
    rate_limit_per_s: float = 0.0  # quota on Google-route requests (token bucket, see ratelimit.py); 0 = none

    def updated(self, data: object) -> EmulatorConfig:
        """A copy with the keys of ``data`` applied. Raises :class:`ConfigError` with a clear message."""
        if not isinstance(data, Mapping):
            raise ConfigError("config must be a JSON object")
        unknown = set(data) - set(CONFIG_KEYS)
        if unknown:
            raise ConfigError(f"unknown config key(s) {sorted(unknown)}; allowed: {list(CONFIG_KEYS)}")
        changes: dict[str, Any] = {}
        for key, value in data.items():
            changes[key] = _validate(key, value)
        new = dataclasses.replace(self, **changes)
        if new.default_page_size > new.max_page_size:
            raise ConfigError("default_page_size must not exceed max_page_size")
        return new

    def as_dict(self) -> dict[str, Any]:
        return {
            "auth": self.auth,
            "time_scale": self.time_scale,
            # The tokens themselves are never echoed or logged.
            "rejected_tokens_count": len(self.rejected_tokens),
            "denied_projects": sorted(self.denied_projects),
            "wait_cap_s": self.wait_cap_s,
            "default_page_size": self.default_page_size,
            "max_page_size": self.max_page_size,
            "latency_s": self.latency_s,
            "rate_limit_per_s": self.rate_limit_per_s,
        }


def _validate(key: str, value: object) -> object:
    if key == "auth":
        if not isinstance(value, bool):
            raise ConfigError("'auth' must be true or false")
        return value
    if key in ("time_scale", "wait_cap_s"):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0 or value > 1e9:
            raise ConfigError(f"'{key}' must be a positive number")
        return float(value)
    if key == "latency_s":
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 3600:
            raise ConfigError("'latency_s' must be a number of seconds between 0 and 3600")
        return float(value)
    if key == "rate_limit_per_s":
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1e6:
            raise ConfigError("'rate_limit_per_s' must be a number of requests per second between 0 and 1000000")
        return float(value)
    if key in ("default_page_size", "max_page_size"):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1 or value > 100_000:
            raise ConfigError(f"'{key}' must be an integer between 1 and 100000")
        return value
    # rejected_tokens, denied_projects
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"'{key}' must be a list of non-empty strings")
    return frozenset(value)

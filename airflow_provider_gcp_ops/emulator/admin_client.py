"""``EmulatorAdmin``: a small synchronous client of the admin API (requests, with timeouts on every call)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import requests

DEFAULT_TIMEOUT_S = 10.0


class EmulatorAdminError(RuntimeError):
    """The admin API answered with an error; ``status`` and ``body`` say which."""

    def __init__(self, status: int, body: Any) -> None:
        message = body.get("error", {}).get("message") if isinstance(body, dict) else body
        super().__init__(f"emulator admin API answered {status}: {message}")
        self.status = status
        self.body = body


class EmulatorAdmin:
    def __init__(self, url: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.url = url.rstrip("/")
        self._timeout_s = timeout_s
        self._client = requests.Session()
        # Never send the emulator's traffic through a proxy from the environment.
        self._client.trust_env = False

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> EmulatorAdmin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, *, json: Any = None, params: Mapping[str, str] | None = None) -> Any:
        response = self._client.request(
            method, f"{self.url}/emulator/v1/{path}", json=json, params=params, timeout=self._timeout_s
        )
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if response.status_code >= 400:
            raise EmulatorAdminError(response.status_code, body)
        return body

    def create_operation(self, service: str = "dataproc", **kwargs: Any) -> dict[str, Any]:
        """Create an operation; returns its Operation JSON. Keys: see ``emulator/create.py``."""
        result: dict[str, Any] = self._call("POST", "operations", json={"service": service, **kwargs})
        return result

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "stats")
        return result

    def history(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "history", params={"name": name})
        return result

    def faults(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "faults")
        return result

    def set_faults(self, rules: Sequence[Mapping[str, Any]], seed: int | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"rules": list(rules)}
        if seed is not None:
            payload["seed"] = seed
        result: dict[str, Any] = self._call("PUT", "faults", json=payload)
        return result

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def reset(self) -> None:
        self._call("POST", "reset")

    def config(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "config")
        return result

    def configure(self, **kwargs: Any) -> dict[str, Any]:
        """Update configuration keys (``time_scale``, ``auth``, ``denied_projects``, ``rejected_tokens``, ...)."""
        result: dict[str, Any] = self._call("PUT", "config", json=kwargs)
        return result

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "health")
        return result

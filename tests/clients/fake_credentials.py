"""Credentials whose refresh hands out tokens from a list: the one part we cannot run for real is Google's token
endpoint, so this stands in for it. Everything else (the 401, the refresh decision, the retry) is real."""

from __future__ import annotations

import threading
from typing import Any

import google.auth.credentials


class ListCredentials(google.auth.credentials.Credentials):  # type: ignore[misc]
    def __init__(self, first: str, refreshed: list[str], *, refresh_delay: float = 0.0) -> None:
        super().__init__()
        self.token = first
        self._refreshed = list(refreshed)
        self._delay = refresh_delay
        self.refresh_count = 0
        self._lock = threading.Lock()

    def refresh(self, request: Any) -> None:
        import time

        time.sleep(self._delay)
        with self._lock:
            self.refresh_count += 1
            self.token = self._refreshed.pop(0)

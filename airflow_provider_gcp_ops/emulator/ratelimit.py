"""A per-server request quota (``rate_limit_per_s``): a token bucket over every Google-route request.

Off when the rate is 0 (the default). The bucket holds one second of quota (at least one request), starts full
and refills continuously; a request that finds it empty is answered 429 RESOURCE_EXHAUSTED with an ``ErrorInfo``
of reason ``RATE_LIMIT_EXCEEDED`` naming the quota, and, as Google's rate-quota errors, neither ``Retry-After``
nor ``RetryInfo``: the client decides when to come back.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class RateLimiter:
    def __init__(self, rate_per_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate_per_s
        self.capacity = max(1.0, rate_per_s)
        self._clock = clock
        self._tokens = self.capacity
        self._last = clock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self) -> float:
        """Admit one request (returns 0.0) or return the seconds until a token is due (the request is refused)."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate

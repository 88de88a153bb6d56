"""One retry policy for the sync and the async client, built on tenacity.

Which errors are retried follows AIP-194 and google-api-core: UNAVAILABLE, RESOURCE_EXHAUSTED (429),
INTERNAL and DEADLINE_EXCEEDED (500/504), UNKNOWN when it came with a 5xx, any 502/503/504, and transport
failures (connection refused/reset, timeouts). Never retried: INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED,
UNAUTHENTICATED (the auth layer refreshes a token once, itself), FAILED_PRECONDITION, UNIMPLEMENTED,
ALREADY_EXISTS, ABORTED (AIP-194: retry only a whole read-modify-write, which a single call is not),
OUT_OF_RANGE, CANCELLED, DATA_LOSS, and anything that is not an ``OperationsError``.

Waits use exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"), at
least as long as the server asked (``RetryInfo`` / ``Retry-After``, capped by ``max_server_delay``). Retries
stop after ``max_attempts``, or as soon as the next sleep would cross the overall ``deadline`` (from the first
attempt) or an outer absolute deadline (e.g. a trigger's): then the last real error is raised, never
``tenacity.RetryError``.

The decisions (``is_retryable``, ``backoff``, the stop rule) are plain methods. Both clients run them through
:meth:`RetryPolicy.next_sleep` in a plain loop (nothing is allocated on an attempt that succeeds: a poll's hot
path); :meth:`RetryPolicy.retrying` and :meth:`RetryPolicy.async_retrying` build the same policy for tenacity,
for callers of the library, and differ only in the sleep function.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import random
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import tenacity

from airflow_provider_gcp_ops.operations.codes import RpcCode
from airflow_provider_gcp_ops.operations.errors import ApiError, TransportError

__all__ = ["DEFAULT_RETRY", "NO_RETRY", "RetryPolicy"]

_RETRYABLE_CODES: Final = frozenset(
    {RpcCode.UNAVAILABLE, RpcCode.RESOURCE_EXHAUSTED, RpcCode.INTERNAL, RpcCode.DEADLINE_EXCEEDED}
)
_NEVER_CODES: Final = frozenset(
    {
        RpcCode.CANCELLED,
        RpcCode.INVALID_ARGUMENT,
        RpcCode.NOT_FOUND,
        RpcCode.ALREADY_EXISTS,
        RpcCode.PERMISSION_DENIED,
        RpcCode.FAILED_PRECONDITION,
        RpcCode.ABORTED,
        RpcCode.OUT_OF_RANGE,
        RpcCode.UNIMPLEMENTED,
        RpcCode.DATA_LOSS,
        RpcCode.UNAUTHENTICATED,
    }
)
_RETRYABLE_HTTP: Final = frozenset({408, 429, 502, 503, 504})
_MAX_EXPONENT = 64  # 2.0**64 already dwarfs any max_backoff; avoids float overflow on huge attempt numbers

Clock = Callable[[], float]


@dataclass(frozen=True)
class RetryPolicy:
    """How many times, how long, and what to retry. Immutable; share one across clients.

    ``deadline``: overall seconds across attempts, measured with the ``clock`` from the first attempt.
    ``absolute_deadline``: an outer deadline on the same clock (``time.monotonic`` by default), set with
    :meth:`with_deadline`. ``max_server_delay``: the most we wait because a server asked us to.
    """

    # Ten attempts inside a 120 s deadline: the deadline is the real bound. Six proved too few at scale: under
    # 30 % injected faults, 0.3**6 lost about one task in a thousand to a transient outage (make chaos).
    max_attempts: int = 10
    initial_backoff: float = 1.0
    multiplier: float = 2.0
    max_backoff: float = 32.0
    deadline: float = 120.0
    max_server_delay: float = 120.0
    absolute_deadline: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise ValueError(f"max_attempts must be an int >= 1, got {self.max_attempts!r}")
        for name in ("initial_backoff", "max_backoff", "max_server_delay"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if not (math.isfinite(self.multiplier) and self.multiplier >= 1):
            raise ValueError(f"multiplier must be >= 1, got {self.multiplier!r}")
        if not (self.deadline > 0):
            raise ValueError(f"deadline must be > 0 seconds, got {self.deadline!r}")

    # -- decisions (shared by sync and async) -------------------------------------------------------------

    def is_retryable(self, exc: BaseException) -> bool:
        """Whether a failed attempt that raised ``exc`` may be tried again."""
        if isinstance(exc, TransportError):
            return True
        if not isinstance(exc, ApiError):
            return False
        code = exc.rpc_code or type(exc).code
        if code in _NEVER_CODES:
            return False
        if code in _RETRYABLE_CODES:
            return True
        status = exc.http_status
        if status is None:  # raised locally, e.g. from the service table: no server to ask again
            return False
        return status in _RETRYABLE_HTTP or (code is RpcCode.UNKNOWN and status >= 500)

    def backoff(self, attempt: int, exc: BaseException | None, rng: random.Random) -> float:
        """Seconds to sleep after failed attempt number ``attempt`` (1-based).

        Full jitter: ``uniform(0, min(max_backoff, initial * multiplier ** (attempt - 1)))``; then at least the
        server's ``retry_delay`` when the error carries one (capped by ``max_server_delay``).
        """
        exponent = min(max(attempt - 1, 0), _MAX_EXPONENT)
        ceiling = min(self.max_backoff, self.initial_backoff * self.multiplier**exponent)
        delay = rng.uniform(0.0, ceiling)
        server = getattr(exc, "retry_delay", None)
        if isinstance(server, int | float) and math.isfinite(server) and server > 0:
            delay = max(delay, min(float(server), self.max_server_delay))
        return delay

    def should_stop(self, *, attempt: int, elapsed: float, next_sleep: float, now: float) -> bool:
        """Stop after ``max_attempts``, or when sleeping ``next_sleep`` more would cross a deadline."""
        if attempt >= self.max_attempts:
            return True
        if elapsed + next_sleep > self.deadline:
            return True
        return self.absolute_deadline is not None and now + next_sleep > self.absolute_deadline

    def next_sleep(
        self,
        exc: BaseException,
        *,
        attempt: int,
        started: float,
        now: float,
        rng: random.Random,
        deadline: float | None = None,
    ) -> float | None:
        """After failed attempt number ``attempt``: seconds to sleep before the next one, or ``None`` to give up
        (re-raise ``exc``). The clients' own retry loop; the same decisions, in the same order, as the tenacity
        builders below (retry predicate, then the wait, then the stop rule on that wait). ``deadline``: an outer
        absolute deadline for this call (as :meth:`with_deadline`, without building a copy per request).
        """
        if not self.is_retryable(exc):
            return None
        delay = self.backoff(attempt, exc, rng)
        if self.should_stop(attempt=attempt, elapsed=now - started, next_sleep=delay, now=now):
            return None
        if deadline is not None and now + delay > deadline:
            return None
        return delay

    def with_deadline(self, absolute_deadline_monotonic: float | None) -> RetryPolicy:
        """A copy also bounded by an outer deadline (on the retry clock; the earlier of two wins)."""
        if absolute_deadline_monotonic is None:
            return self
        current = self.absolute_deadline
        chosen = absolute_deadline_monotonic if current is None else min(current, absolute_deadline_monotonic)
        return dataclasses.replace(self, absolute_deadline=chosen)

    # -- tenacity builders ---------------------------------------------------------------------------------

    def _controls(self, clock: Clock, rng: random.Random | None) -> dict[str, Any]:
        """The stop/wait/retry/before callables both tenacity flavours share."""
        chosen_rng = rng if rng is not None else random.Random()  # noqa: S311 - jitter, not cryptography
        started: weakref.WeakKeyDictionary[tenacity.RetryCallState, float] = weakref.WeakKeyDictionary()

        def before(state: tenacity.RetryCallState) -> None:
            if state.attempt_number == 1:
                started[state] = clock()

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome is not None else None
            return self.backoff(state.attempt_number, exc, chosen_rng)

        def stop(state: tenacity.RetryCallState) -> bool:
            now = clock()
            return self.should_stop(
                attempt=state.attempt_number,
                elapsed=now - started.get(state, now),
                next_sleep=state.upcoming_sleep,
                now=now,
            )

        def retry(state: tenacity.RetryCallState) -> bool:
            if state.outcome is None or not state.outcome.failed:
                return False
            exc = state.outcome.exception()
            return exc is not None and self.is_retryable(exc)

        return {"before": before, "wait": wait, "stop": stop, "retry": retry, "reraise": True}

    def retrying(
        self,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
        before_sleep: Callable[[tenacity.RetryCallState], None] | None = None,
    ) -> tenacity.Retrying:
        """A ``tenacity.Retrying`` for this policy (``policy.retrying()(fn, *args)`` or ``for attempt in ...``)."""
        return tenacity.Retrying(sleep=sleep, before_sleep=before_sleep, **self._controls(clock, rng))

    def async_retrying(
        self,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
        before_sleep: Callable[[tenacity.RetryCallState], Any] | None = None,
    ) -> tenacity.AsyncRetrying:
        """The same policy as an ``AsyncRetrying`` (``await policy.async_retrying()(coro_fn, *args)``)."""
        return tenacity.AsyncRetrying(sleep=sleep, before_sleep=before_sleep, **self._controls(clock, rng))


JITTER: Final = random.Random()  # noqa: S311 - the clients' jitter source, not cryptography

DEFAULT_RETRY: Final[RetryPolicy] = RetryPolicy()
NO_RETRY: Final[RetryPolicy] = RetryPolicy(max_attempts=1)

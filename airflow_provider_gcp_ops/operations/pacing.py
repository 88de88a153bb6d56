"""Client-side pacing for bulk work under a request quota, without I/O: when may the next request go?

Google answers a request over a rate quota with 429 RESOURCE_EXHAUSTED (``ErrorInfo`` reason
``RATE_LIMIT_EXCEEDED``), usually without ``Retry-After`` or ``RetryInfo`` (``google/api/error_reason.proto``),
and its quotas are per project ("requests per minute per project"), shared by every worker of a run. Workers that
each back off alone leave the quota idle while they sleep and send bursts when they wake. :class:`AdaptivePacer`
is one token bucket for all the concurrent requests of one run, whose rate adapts AIMD-style:

- **Until the first 429** it does not slow anything down (nothing is known of the quota), except to stay under
  ``max_rate`` when one is set (the quota you know, e.g. 36,000 requests per minute = 600/s).
- **On a second 429 within ``window`` seconds** the rate drops to ``decrease`` times the rate the server
  admitted over the last ``window`` (the best estimate of the quota), at most once per ``window``: the other
  429s of that window answer requests sent before the cut. With nothing admitted in the window, the rate halves.
  A lone 429 changes nothing (its request is retried like any other).
- **On every admitted request** it grows additively: after a cut (and a ``window`` for the answers to requests
  sent before it), by ``increase`` times the highest admitted rate seen so far, per second of requests; the step
  doubles with every further ``window`` without a cut (at most doubling the rate per window). Near the quota the
  rate creeps up, then probes faster; a cut it did not need (429s that were not the quota's, or met while the
  run sent little, listing pages one by one, so that the admitted rate understated the quota) costs a few
  seconds of that probing, not the rest of the run.
- The rate stays within ``[min_rate, max_rate]``; a request never waits longer than the requests queued before
  it at ``min_rate``.

It only decides: :meth:`reserve` returns the time a request may be sent (the caller sleeps), :meth:`observe` takes
what the server answered. Retries stay the retry policy's (:mod:`.retry`): a 429 is still a failed attempt that
counts toward its bounds; a retried attempt reserves its slot like any other. Not thread-safe: one pacer per
event loop (one housekeeping run), shared by the coroutines on it.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

__all__ = ["AdaptivePacer", "Pacer", "checked_rate"]

_SLOTS = 10  # the admitted-rate window is kept as this many counters (constant memory at any rate)


class Pacer(Protocol):
    """What a client needs of a pacer (see :class:`AdaptivePacer`)."""

    def reserve(self, now: float) -> float:
        """Take the next admission; the time (on the caller's clock, ``>= now``) the request may be sent."""
        ...

    def observe(self, now: float, *, throttled: bool) -> None:
        """The server answered: ``throttled`` for a 429, else the quota admitted the request."""
        ...


def checked_rate(value: object, what: str = "max_requests_per_second") -> float | None:
    """``None``, or a finite number of requests per second > 0 (a typed error before any request)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be a number of requests per second > 0, or None; got {value!r}")
    return float(value)


class AdaptivePacer:
    """One adaptive token bucket for the concurrent requests of a run (see the module docstring).

    ``max_rate``: the ceiling (requests/s), ``None`` for none. ``min_rate``: the floor after 429s. ``decrease``:
    the share of the recently admitted rate kept on a 429. ``increase``: growth per second, as a share of the
    highest admitted rate seen. ``window``: seconds over which the admitted rate is measured, and the least time
    between two cuts.
    """

    def __init__(
        self,
        *,
        max_rate: float | None = None,
        min_rate: float = 1.0,
        decrease: float = 0.9,
        increase: float = 0.05,
        window: float = 1.0,
    ) -> None:
        self.max_rate = checked_rate(max_rate, "max_rate")
        floor = checked_rate(min_rate, "min_rate")
        assert floor is not None
        if self.max_rate is not None and floor > self.max_rate:
            floor = self.max_rate
        self.min_rate = floor
        if not 0 < decrease < 1:
            raise ValueError(f"decrease must be between 0 and 1 (exclusive), got {decrease!r}")
        if not (math.isfinite(increase) and increase > 0):
            raise ValueError(f"increase must be a number > 0, got {increase!r}")
        if not (math.isfinite(window) and window > 0):
            raise ValueError(f"window must be a number of seconds > 0, got {window!r}")
        self.decrease = decrease
        self.increase = increase
        self.window = window
        # The current rate; None: not pacing (no 429 seen and no max_rate).
        self.rate: float | None = self.max_rate
        self._next = -math.inf  # earliest time of the next admission (virtual scheduling: no burst credit)
        self._cut_at = -math.inf
        self._throttled_at = -math.inf
        self._step = 0.0  # additive increase, requests/s per second of flow
        self._step_at = -math.inf  # when the step last doubled
        self._slot_s = window / _SLOTS
        self._counts = [0] * _SLOTS
        self._slot: int | None = None
        self._peak = 0.0
        # Counters for reports.
        self.admitted = 0
        self.throttled = 0
        self.cuts = 0

    # -- decisions ---------------------------------------------------------------------------------------------
    def reserve(self, now: float) -> float:
        rate = self.rate
        if rate is None:
            return now
        at = max(now, self._next)
        self._next = at + 1.0 / rate
        return at

    def observe(self, now: float, *, throttled: bool) -> None:
        if throttled:
            self.throttled += 1
            self._on_throttled(now)
            return
        self.admitted += 1
        slot = self._advance(now)
        self._counts[slot] += 1
        recent = self.admitted_rate(now)
        self._peak = max(self._peak, recent)
        rate = self.rate
        if rate is not None and now - self._cut_at >= self.window:
            # Additive increase, ``step`` per second while requests flow at the current rate (not in the window
            # after a cut: answers to requests sent before it are still coming back).
            if now - self._step_at >= self.window:  # another window without a cut: probe faster
                self._step = min(2 * self._step, rate)
                self._step_at = now
            grown = rate + max(self._step, self.increase * self.min_rate) / rate
            self.rate = grown if self.max_rate is None else min(grown, self.max_rate)

    def _on_throttled(self, now: float) -> None:
        previous, self._throttled_at = self._throttled_at, now
        if now - previous > self.window:
            return  # a lone 429 is no trend: its request is retried (the retry policy's), the rate stays
        if now - self._cut_at < self.window:
            return  # answers to requests sent before the last cut
        recent = self.admitted_rate(now)
        if recent > 0:
            target = self.decrease * recent
            if self.rate is not None:
                target = min(target, self.rate)
        else:
            target = 0.5 * self.rate if self.rate is not None else self.min_rate
        self.rate = max(self.min_rate, target)
        if self.max_rate is not None:
            self.rate = min(self.rate, self.max_rate)
        self._cut_at = now
        self._step = self.increase * max(self._peak, self.rate)
        self._step_at = now + self.window  # the first step, unchanged, for the window after the cooldown
        self.cuts += 1

    # -- the admitted-rate window ------------------------------------------------------------------------------
    def admitted_rate(self, now: float) -> float:
        """Requests the server admitted per second over the last ``window`` seconds."""
        self._advance(now)
        return sum(self._counts) / self.window

    def _advance(self, now: float) -> int:
        """Move the window to ``now`` (clearing the counters of slots that went by); the current slot's index."""
        slot = math.floor(now / self._slot_s)
        last = self._slot
        if last is None or slot - last >= _SLOTS:
            self._counts[:] = [0] * _SLOTS
        elif slot > last:
            for k in range(last + 1, slot + 1):
                self._counts[k % _SLOTS] = 0
        else:
            slot = last  # an observation stamped before the last one counts in the current slot
        self._slot = slot
        return slot % _SLOTS

    def summary(self) -> dict[str, Any]:
        """JSON-safe counters: requests admitted and throttled (429), rate cuts, and the rate at the end."""
        return {
            "max_requests_per_second": self.max_rate,
            "admitted": self.admitted,
            "throttled_429": self.throttled,
            "rate_cuts": self.cuts,
            "final_rate_per_s": None if self.rate is None else round(self.rate, 1),
        }

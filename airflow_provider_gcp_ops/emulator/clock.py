"""The emulator's virtual clock: real monotonic time multiplied by ``time_scale``.

Operations progress in virtual seconds (a 60 s operation at ``time_scale=100`` is done after 0.6 real seconds).
Changing the scale starts a new segment, so progress never jumps. The clock keeps its segments so a virtual
instant can be mapped back to the real monotonic clock (the history shows real offsets).
"""

from __future__ import annotations

import time
from bisect import bisect_right


class VirtualClock:
    def __init__(self, time_scale: float = 1.0) -> None:
        if not time_scale > 0:
            raise ValueError("time_scale must be > 0")
        now = time.monotonic()
        self._epoch = now
        # Segments: (real start, virtual start, scale). Virtual time starts at 0 at the epoch.
        self._reals: list[float] = [now]
        self._virtuals: list[float] = [0.0]
        self._scales: list[float] = [time_scale]

    @property
    def scale(self) -> float:
        return self._scales[-1]

    @property
    def epoch(self) -> float:
        """The real monotonic instant virtual time 0 corresponds to."""
        return self._epoch

    def now(self) -> float:
        """Virtual seconds since the epoch."""
        return self._virtuals[-1] + (time.monotonic() - self._reals[-1]) * self._scales[-1]

    def set_scale(self, time_scale: float) -> None:
        if not time_scale > 0:
            raise ValueError("time_scale must be > 0")
        real = time.monotonic()
        virtual = self.now()
        self._reals.append(real)
        self._virtuals.append(virtual)
        self._scales.append(time_scale)

    def real_of(self, virtual: float) -> float:
        """The real monotonic instant at which the clock reads (or read, or will read at today's scale) ``virtual``."""
        i = max(0, bisect_right(self._virtuals, virtual) - 1)
        return self._reals[i] + (virtual - self._virtuals[i]) / self._scales[i]

    def real_seconds_until(self, virtual: float) -> float:
        """Real seconds from now until the clock reads ``virtual`` (at the current scale); 0 if past."""
        return max(0.0, (virtual - self.now()) / self._scales[-1])

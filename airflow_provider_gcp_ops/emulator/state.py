"""The emulator's whole mutable state, owned by the server's event loop."""

from __future__ import annotations

import asyncio
import random

from airflow_provider_gcp_ops.emulator.clock import VirtualClock
from airflow_provider_gcp_ops.emulator.config import EmulatorConfig
from airflow_provider_gcp_ops.emulator.faults import FaultPlan
from airflow_provider_gcp_ops.emulator.history import History
from airflow_provider_gcp_ops.emulator.ratelimit import RateLimiter
from airflow_provider_gcp_ops.emulator.stats import Stats
from airflow_provider_gcp_ops.emulator.store import Store


class EmulatorState:
    """Operations, counters, history, faults and configuration.

    Only the event loop touches it (route handlers never hold it across an ``await`` that does I/O), so it
    needs no lock. ``reset()`` returns to the configuration given at start, with no operations, counters or
    faults. Operation ids keep coming from one seeded generator across resets, so names stay unique in a
    session and reproducible from the seed.
    """

    def __init__(
        self, *, auth: bool = True, time_scale: float = 1.0, seed: int = 0, faults: FaultPlan | None = None
    ) -> None:
        self.seed = seed
        self.initial_config = EmulatorConfig(auth=auth, time_scale=time_scale)
        self.ids = random.Random(seed)  # noqa: S311 - reproducible operation ids, not crypto
        self._stop_event: asyncio.Event | None = None
        self.stopping = False
        self.config = self.initial_config
        self.clock = VirtualClock(self.config.time_scale)
        self.store = Store()
        self.history = History()
        self.stats = Stats()
        self.faults = faults if faults is not None else FaultPlan(seed=seed)
        self.rate_limiter = RateLimiter(self.config.rate_limit_per_s)

    def reset(self) -> None:
        in_flight = self.stats.in_flight
        self.config = self.initial_config
        self.clock = VirtualClock(self.config.time_scale)
        self.store = Store()
        self.history = History()
        self.stats = Stats()
        self.stats.in_flight = in_flight
        self.faults = FaultPlan(seed=self.seed)
        self.rate_limiter = RateLimiter(self.config.rate_limit_per_s)

    def configure(self, data: object) -> EmulatorConfig:
        new = self.config.updated(data)
        if new.time_scale != self.config.time_scale:
            self.clock.set_scale(new.time_scale)
        if new.rate_limit_per_s != self.config.rate_limit_per_s:
            self.rate_limiter = RateLimiter(new.rate_limit_per_s)
        self.config = new
        return new

    # -- shutdown-aware sleeping ------------------------------------------------------------------------------

    def _event(self) -> asyncio.Event:
        if self._stop_event is None:
            self._stop_event = asyncio.Event()
            if self.stopping:
                self._stop_event.set()
        return self._stop_event

    def request_stop(self) -> None:
        """Wake every sleeping handler (stalls, latency, :wait) so the server can stop at once. Loop thread only."""
        self.stopping = True
        self._event().set()

    async def sleep(self, seconds: float) -> bool:
        """Sleep ``seconds``; ``False`` if the server began to stop first."""
        if seconds <= 0:
            return not self.stopping
        event = self._event()
        if event.is_set():
            return False
        try:
            await asyncio.wait_for(event.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            return True
        return False

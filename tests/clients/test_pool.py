"""Thousands of triggers in one triggerer must share one connection pool, not open one each."""

from __future__ import annotations

import asyncio
import time

from airflow_provider_gcp_ops.emulator import EmulatorServer
from airflow_provider_gcp_ops.operations import pool
from airflow_provider_gcp_ops.operations.async_client import AsyncOperationsClient

from .conftest import settings_for


def _drained(emu: EmulatorServer, timeout: float = 15.0) -> None:
    """Wait until no request of an earlier test is still held by the server (a stall fault may run on), then
    reset, so that max_in_flight counts only this test's requests."""
    deadline = time.monotonic() + timeout
    while emu.admin.stats()["in_flight"] > 0:
        assert time.monotonic() < deadline, "the emulator still holds requests of an earlier test"
        time.sleep(0.05)
    emu.admin.reset()


async def test_a_thousand_concurrent_clients_share_one_pool(emu: EmulatorServer) -> None:
    _drained(emu)
    names = [emu.admin.create_operation(service="aiplatform", duration_s=600)["name"] for _ in range(50)]
    emu.admin.configure(latency_s=0.02)  # each request takes time, so max_in_flight measures our concurrency
    pools_seen: set[int] = set()

    async def one_trigger(i: int) -> str:
        # Each "trigger" builds its own client, as OperationTrigger.run() does.
        async with AsyncOperationsClient(**settings_for(emu)) as client:
            pools_seen.add(id(client._http))
            op = await client.get(names[i % len(names)], service="aiplatform")
            return op.name

    results = await asyncio.gather(*(one_trigger(i) for i in range(1000)))
    assert sorted(set(results)) == sorted(names)
    assert len(pools_seen) == 1
    assert pool.shared_pool_count() == 0  # the last user closed it
    stats = emu.admin.stats()
    assert stats["requests"]["get"] == 1000
    assert 1 < stats["max_in_flight"] <= pool.MAX_CONNECTIONS  # concurrent, and never past the pool's bound


async def test_the_pool_is_per_event_loop(emu: EmulatorServer) -> None:
    async with AsyncOperationsClient(**settings_for(emu)) as a, AsyncOperationsClient(**settings_for(emu)) as b:
        assert a._http is b._http and a._http is not None
        assert pool.users_on_this_loop() == 2

    def other_loop() -> int:
        async def go() -> int:
            async with AsyncOperationsClient(**settings_for(emu)) as c:
                return id(c._http)

        return asyncio.run(go())

    async with AsyncOperationsClient(**settings_for(emu)) as here:
        there = await asyncio.to_thread(other_loop)
        assert here._http is not None and there != id(here._http)

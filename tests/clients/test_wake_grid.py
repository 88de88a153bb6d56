"""Waits on a wake grid (the triggerer's): sleeps end on grid instants, one loop timer per instant, all cancellable."""

from __future__ import annotations

import asyncio
import time

import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer
from airflow_provider_gcp_ops.operations import grid_sleep
from airflow_provider_gcp_ops.operations.async_client import AsyncOperationsClient
from airflow_provider_gcp_ops.operations.polling import PollSchedule

from .conftest import settings_for

POLL = PollSchedule(initial=3.0, maximum=3.0)
GRID = 0.03  # 1 % of the 3 s poll: the grid as given


async def test_waits_on_a_grid_sleep_until_shared_instants_and_finish(emu: EmulatorServer) -> None:
    names = [emu.admin.create_operation(service="dataproc", duration_s=1.5)["name"] for _ in range(40)]
    finished: list[float] = []

    async def one(name: str, offset: float) -> None:
        await asyncio.sleep(offset)
        async with AsyncOperationsClient(**settings_for(emu, poll=POLL)) as client:
            op = await client.wait(name, service="dataproc", use_server_wait=False, timeout=30, wake_grid_s=GRID)
        assert op.done
        finished.append(time.monotonic())

    tasks = [asyncio.ensure_future(one(n, i * 0.0005)) for i, n in enumerate(names)]
    # Every wait has polled once and sleeps now. Started over 20 ms, their first polls end within a few 30 ms
    # grid slots (more on a loaded machine: each slot its own timer, still far fewer than one per wait).
    await asyncio.sleep(1.2)
    sleeping = grid_sleep.pending_instants()
    assert 1 <= sleeping < len(names) / 4  # one timer per 30 ms instant, not one per wait
    await asyncio.gather(*tasks)
    assert len(finished) == len(names)
    assert grid_sleep.pending_instants() == 0


async def test_a_wait_sleeping_on_the_grid_is_cancelled_at_once(emu: EmulatorServer) -> None:
    name = emu.admin.create_operation(service="dataproc", duration_s=600)["name"]

    async def wait() -> None:
        async with AsyncOperationsClient(**settings_for(emu, poll=PollSchedule(initial=20.0, maximum=20.0))) as c:
            await c.wait(name, service="dataproc", use_server_wait=False, wake_grid_s=0.1)

    task = asyncio.ensure_future(wait())
    await asyncio.sleep(0.5)  # polled once, sleeping for ~20 s
    assert grid_sleep.pending_instants() == 1
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 1.0

"""The pool's gate: bounded waits that never swallow a cancellation and never leak a slot."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_gcp_ops.operations.pool import acquire_within


async def test_a_free_slot_is_taken_at_once() -> None:
    gate = asyncio.Semaphore(1)
    await acquire_within(gate, 0.01)
    assert gate.locked()


async def test_waiting_is_bounded() -> None:
    gate = asyncio.Semaphore(1)
    await gate.acquire()
    with pytest.raises(asyncio.TimeoutError):
        await acquire_within(gate, 0.05)
    gate.release()
    assert not gate.locked()  # the abandoned waiter did not keep the slot


async def test_a_slot_freed_while_waiting_is_won() -> None:
    gate = asyncio.Semaphore(1)
    await gate.acquire()
    asyncio.get_running_loop().call_later(0.02, gate.release)
    await acquire_within(gate, 5)
    assert gate.locked()


@pytest.mark.parametrize("release_first", [True, False])
async def test_cancellation_is_never_swallowed_and_no_slot_leaks(release_first: bool) -> None:
    # The race that asyncio.wait_for loses on Python 3.11: the slot frees up in the same loop iteration in
    # which the waiting task is cancelled.
    gate = asyncio.Semaphore(1)
    await gate.acquire()
    task = asyncio.create_task(acquire_within(gate, 30))
    await asyncio.sleep(0.01)  # the task now waits for the slot
    if release_first:
        gate.release()
        task.cancel()
    else:
        task.cancel()
        gate.release()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(gate.acquire(), 1)  # the slot is free again: nothing leaked

"""OperationsWatcherTrigger.run() against the emulator over real HTTP (the trigger's own loop, real clock)."""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer
from airflow_provider_gcp_ops.triggers.watcher import OperationsWatcherTrigger

pytestmark = pytest.mark.usefixtures("gcp_ops_emulator_env")

PROJECT = "watched"
PARENT = f"projects/{PROJECT}/regions/us-central1"
FAILED = {"error": {"code": 9, "message": "disk quota exceeded"}}


def make(**kw: Any) -> OperationsWatcherTrigger:
    kw.setdefault("service", "dataproc")
    kw.setdefault("parents", [PARENT])
    kw.setdefault("poll_interval", 1.0)
    return OperationsWatcherTrigger(**kw)


def create(emu: EmulatorServer, **kw: Any) -> str:
    kw.setdefault("project", PROJECT)
    return str(emu.admin.create_operation("dataproc", **kw)["name"])


class Watch:
    """Runs ``trigger.run()`` in the background and collects its payloads."""

    def __init__(self, trigger: OperationsWatcherTrigger) -> None:
        self.trigger = trigger
        self.payloads: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Watch:
        async def consume(events: AsyncIterator[Any]) -> None:
            async for event in events:
                self.payloads.append(event.payload)

        self._task = asyncio.create_task(consume(self.trigger.run()))
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        if self._task.done():
            self._task.result()  # re-raise what ended it
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def until(self, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.payloads) < count:
            assert self._task is not None
            if self._task.done():
                self._task.result()
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} events in {timeout} s, got {self.payloads}")
            await asyncio.sleep(0.05)
        return self.payloads

    def keys(self) -> list[str]:
        return [p["dedup_key"] for p in self.payloads]


def test_serialize_round_trip_is_json_and_validated_early() -> None:
    trigger = make(conditions=["failed", "long_running"], long_running_after=3600, filter="status.state = DONE")
    classpath, kwargs = trigger.serialize()
    assert json.loads(json.dumps(kwargs)) == kwargs
    module, _, cls = classpath.rpartition(".")
    assert getattr(importlib.import_module(module), cls)(**kwargs).serialize() == (classpath, kwargs)
    # AssetWatcher identifies a trigger by this hash: parsing the DAG again must give the same one.
    again = make(conditions=["long_running", "failed"], long_running_after=3600, filter="status.state = DONE")
    assert OperationsWatcherTrigger.hash(*again.serialize()) == OperationsWatcherTrigger.hash(classpath, kwargs)
    with pytest.raises(ValueError, match="parents"):
        OperationsWatcherTrigger(service="dataproc")
    with pytest.raises(ValueError, match="unknown condition"):
        make(conditions=["exploded"])
    with pytest.raises(ValueError, match="threshold"):
        make(conditions=["long_running"])
    with pytest.raises(ValueError, match="poll_interval"):
        make(poll_interval=0.01)
    from airflow_provider_gcp_ops.operations.errors import InvalidOperationNameError

    with pytest.raises(InvalidOperationNameError):
        make(parents=["not a parent"])


def test_project_and_locations_expand_to_the_services_collections() -> None:
    trigger = make(parents=None, project_id="p", locations=["us-central1", "europe-west1"])
    assert [c.parent for c in trigger.collections()] == [
        "projects/p/regions/us-central1",
        "projects/p/locations/us-central1",
        "projects/p/regions/europe-west1",
        "projects/p/locations/europe-west1",
    ]


def test_an_asset_watcher_accepts_it() -> None:
    from airflow.sdk import Asset, AssetWatcher

    asset = Asset("gcp_ops_failures", watchers=[AssetWatcher(name="failures", trigger=make())])
    assert asset.watchers[0].trigger.service == "dataproc"


async def test_one_event_per_failure_and_none_for_history(gcp_ops_emulator: EmulatorServer) -> None:
    emu = gcp_ops_emulator
    create(emu, done=True, outcome=FAILED)  # failed before the watch started: history
    create(emu, duration_s=600)  # running, never fires for "failed"
    async with Watch(make(conditions=["failed", "cancelled"])) as watch:
        await asyncio.sleep(1.5)
        assert watch.payloads == []
        first = create(emu, duration_s=0.2, outcome=FAILED)
        (payload,) = await watch.until(1)
        assert payload["condition"] == "failed" and payload["dedup_key"] == f"{first}#failed"
        assert payload["operation"]["name"] == first and payload["operation"]["error_message"] == "disk quota exceeded"
        assert payload["collection"] == PARENT and payload["service"] == "dataproc" and payload["event_time"]
        second = create(emu, duration_s=600, cancel_delay_s=0.1)
        import httpx

        httpx.post(f"{emu.url}/v1/{second}:cancel", headers={"Authorization": "Bearer t"}, timeout=5, trust_env=False)
        await watch.until(2)
        await asyncio.sleep(2.5)  # more polls: nothing fires twice
    assert watch.keys() == [f"{first}#failed", f"{second}#cancelled"]


async def test_long_running_threshold(gcp_ops_emulator: EmulatorServer) -> None:
    emu = gcp_ops_emulator
    create(emu, duration_s=7200, created_ago_s=3600)  # crossed 2 s long before the watch: history
    async with Watch(make(conditions=["long_running"], long_running_after=2)) as watch:
        young = create(emu, duration_s=600)
        (payload,) = await watch.until(1, timeout=10)
        assert payload["dedup_key"] == f"{young}#long_running" and payload["operation"]["state"] == "running"
        await asyncio.sleep(2.5)
    assert len(watch.payloads) == 1


async def test_lookback_fires_recent_history(gcp_ops_emulator: EmulatorServer) -> None:
    emu = gcp_ops_emulator
    recent = create(emu, done=True, outcome=FAILED)
    create(emu, done=True, outcome=FAILED, created_ago_s=7200)  # older than the lookback
    async with Watch(make(lookback=600)) as watch:
        await watch.until(1)
        await asyncio.sleep(1.5)
    assert watch.keys() == [f"{recent}#failed"]


async def test_budget_bounds_calls_per_poll_and_the_listing_resumes(gcp_ops_emulator: EmulatorServer) -> None:
    emu = gcp_ops_emulator
    trigger = make(max_calls_per_poll=2, page_size=1, lookback=600, filter="status.state = DONE")
    names = [create(emu, done=True, outcome=FAILED) for _ in range(5)]
    create(emu, duration_s=600)  # filtered out by the server
    started = time.monotonic()
    async with Watch(trigger) as watch:
        await watch.until(5, timeout=20)
        lists = emu.admin.stats()["requests"]["list"]
        polls = int((time.monotonic() - started) / trigger.poll_interval) + 1
    assert sorted(p["operation"]["name"] for p in watch.payloads) == sorted(names)
    assert lists <= 2 * polls
    assert lists >= 5  # one operation per page: it took several polls


async def test_transient_errors_wait_for_the_next_poll(gcp_ops_emulator: EmulatorServer) -> None:
    emu = gcp_ops_emulator
    emu.admin.set_faults([{"route": "list", "kind": "503", "count": 2}])
    async with Watch(make(lookback=600)) as watch:
        name = create(emu, done=True, outcome=FAILED)
        (payload,) = await watch.until(1, timeout=15)
    assert payload["operation"]["name"] == name
    assert emu.admin.stats()["faults"]["total"] == 2


async def test_a_configuration_error_ends_the_trigger(gcp_ops_emulator: EmulatorServer) -> None:
    from airflow_provider_gcp_ops.operations.errors import InvalidArgument

    with pytest.raises(InvalidArgument):
        async for _ in make(filter="status.state = = DONE").run():
            pass

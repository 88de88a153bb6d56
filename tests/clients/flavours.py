"""Run one test body against both clients: the sync one and the async one, with the same settings.

``Flavour.call(verb, *args, **kw)`` opens a client, runs one verb and returns plain values (a listing as a
list), so a test asserts the same behaviour of both clients without writing it twice.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_gcp_ops.operations.async_client import AsyncOperationsClient
from airflow_provider_gcp_ops.operations.sync_client import OperationsClient

MAX_REAL_SLEEP = 0.05


@dataclass
class Flavour:
    name: str
    settings: dict[str, Any]
    sleeps: list[float] = field(default_factory=list)
    last_unreachable: tuple[str, ...] = ()

    def _record(self, seconds: float) -> None:
        # Record what the client asked for, sleep only a little: retry tests stay fast, wait loops don't spin.
        self.sleeps.append(seconds)
        time.sleep(min(seconds, MAX_REAL_SLEEP))

    def call(self, verb: str, *args: Any, **kw: Any) -> Any:
        if self.name == "sync":
            return self._call_sync(verb, *args, **kw)
        return asyncio.run(self._call_async(verb, *args, **kw))

    def _call_sync(self, verb: str, *args: Any, **kw: Any) -> Any:
        with OperationsClient(sleep=self._record, **self.settings) as client:
            result = getattr(client, verb)(*args, **kw)
            if verb == "list":
                items = list(result)
                self.last_unreachable = result.unreachable
                return items
            return result

    async def _call_async(self, verb: str, *args: Any, **kw: Any) -> Any:
        async def fake_sleep(seconds: float) -> None:
            self.sleeps.append(seconds)
            await asyncio.sleep(min(seconds, MAX_REAL_SLEEP))

        async with AsyncOperationsClient(sleep=fake_sleep, **self.settings) as client:
            if verb == "list":
                pager = client.list(*args, **kw)
                items = [op async for op in pager]
                self.last_unreachable = pager.unreachable
                return items
            return await getattr(client, verb)(*args, **kw)

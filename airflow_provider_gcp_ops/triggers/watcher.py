"""``OperationsWatcherTrigger``: an Airflow 3 event trigger for ``AssetWatcher`` over collections of operations.

It lists the watched collections every ``poll_interval`` seconds and yields one ``TriggerEvent`` per operation that
enters a chosen condition (``failed``, ``cancelled``, ``succeeded``, ``done``, ``long_running``); the event's
payload (the asset event's ``extra["payload"]``) is the operation summary plus ``condition``, ``dedup_key``,
``event_time``, ``service``, ``collection``. What fires when, and across restarts, is decided in
:mod:`airflow_provider_gcp_ops.operations.watch` (documented there and in the README, "Event-driven watcher").

Cost per interval: at most ``max_calls_per_poll`` list requests (one attempt each: a transient failure is retried
at the next interval, not within it), the server-side ``filter`` on every page. Never a blocking call on the
event loop: the hook's async client on the loop's shared pool.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from airflow.triggers.base import TriggerEvent

from airflow_provider_gcp_ops.hooks.operations import GoogleOperationsHook
from airflow_provider_gcp_ops.operations.client_base import Timeouts
from airflow_provider_gcp_ops.operations.errors import OperationsError
from airflow_provider_gcp_ops.operations.names import CollectionRef
from airflow_provider_gcp_ops.operations.retry import DEFAULT_RETRY, RetryPolicy
from airflow_provider_gcp_ops.operations.watch import Cursor, WatchState, parse_conditions, poll_plan

try:  # Airflow >= 3.0: the base class AssetWatcher accepts
    from airflow.triggers.base import BaseEventTrigger
except ImportError:  # pragma: no cover - Airflow 2 has no event-driven scheduling; AssetWatcher does not exist
    from airflow.triggers.base import BaseTrigger as BaseEventTrigger  # type: ignore[assignment]

# One attempt per request: the poll interval is the retry schedule, so a poll never sends more than its budget.
WATCH_RETRY = RetryPolicy(max_attempts=1, deadline=DEFAULT_RETRY.deadline)
MIN_POLL_INTERVAL_S = 1.0


def _seconds(value: float | Any | None, what: str) -> float | None:
    if value is None:
        return None
    seconds = float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)
    if seconds < 0:
        raise ValueError(f"{what} must be >= 0, got {value!r}")
    return seconds


class OperationsWatcherTrigger(BaseEventTrigger):
    """Watch operation collections; one event per (operation, condition). Use in ``AssetWatcher(name, trigger=...)``.

    :param service: the service key (``dataproc``, ``aiplatform``, ...).
    :param parents: collections (``projects/p/regions/r``, ``projects/p/locations/l``, full names, REST URLs), or
    :param project_id: with ``locations``: every collection of the service in those locations.
    :param filter: the service's own list filter, sent with every page (server-side): e.g. Dataproc
        ``status.state = DONE``, most services ``done = true``. Leave it empty for ``long_running``.
    :param conditions: any of ``failed``, ``cancelled``, ``succeeded``, ``done``, ``long_running``.
    :param long_running_after: seconds (or a timedelta) after the operation's start time, for ``long_running``.
    :param poll_interval: seconds between polls (>= 1).
    :param max_calls_per_poll: at most this many list requests per poll; a long listing continues next poll.
    :param page_size: operations per page (the server may clamp it).
    :param lookback: seconds before the watch's start whose events still fire (see "restart semantics").
    """

    def __init__(
        self,
        *,
        service: str,
        parents: Sequence[str] | None = None,
        project_id: str | None = None,
        locations: Sequence[str] | None = None,
        api_version: str | None = None,
        filter: str | None = None,
        conditions: Sequence[str] | str = ("failed",),
        long_running_after: float | Any | None = None,
        poll_interval: float = 60.0,
        max_calls_per_poll: int = 10,
        page_size: int | None = 100,
        lookback: float | Any = 0.0,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        if parents is not None and (project_id is not None or locations is not None):
            raise ValueError("pass either parents=[...] or project_id= with locations=[...], not both")
        if parents is None and (project_id is None or not locations):
            raise ValueError("pass parents=[...], or project_id= with a non-empty locations=[...]")
        if isinstance(parents, str) or isinstance(locations, str):
            raise ValueError("parents and locations are lists of strings, not a single string")
        self.service = service
        self.parents = list(parents) if parents is not None else None
        self.project_id = project_id
        self.locations = list(locations) if locations is not None else None
        self.api_version = api_version
        self.filter = filter or None
        self.conditions = [c.value for c in parse_conditions(conditions)]
        self.long_running_after = _seconds(long_running_after, "long_running_after")
        self.poll_interval = float(poll_interval)
        if self.poll_interval < MIN_POLL_INTERVAL_S:
            raise ValueError(f"poll_interval must be >= {MIN_POLL_INTERVAL_S:g} s, got {poll_interval!r}")
        if int(max_calls_per_poll) < 1:
            raise ValueError(f"max_calls_per_poll must be >= 1, got {max_calls_per_poll!r}")
        self.max_calls_per_poll = int(max_calls_per_poll)
        self.page_size = page_size
        self.lookback = _seconds(lookback, "lookback") or 0.0
        self.gcp_conn_id = gcp_conn_id
        self.impersonation_chain = (
            list(impersonation_chain) if isinstance(impersonation_chain, (list, tuple)) else impersonation_chain
        )
        # Validate everything now (DAG parse), before any network call.
        self._collections = self.collections()
        self._new_state(time.time())

    def collections(self) -> list[CollectionRef]:
        from airflow_provider_gcp_ops.operations.housekeeping import select_collections

        return select_collections(
            self.service,
            parents=self.parents,
            project_id=self.project_id,
            locations=self.locations,
            api_version=self.api_version,
        )

    def _new_state(self, started_at: float) -> WatchState:
        return WatchState(
            conditions=parse_conditions(self.conditions),
            started_at=started_at,
            long_running_after_s=self.long_running_after,
            lookback_s=self.lookback,
        )

    def serialize(self) -> tuple[str, dict[str, Any]]:
        # JSON values only, never credentials; stable (the trigger's identity for AssetWatcher is their hash).
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "service": self.service,
                "parents": self.parents,
                "project_id": self.project_id,
                "locations": self.locations,
                "api_version": self.api_version,
                "filter": self.filter,
                "conditions": self.conditions,
                "long_running_after": self.long_running_after,
                "poll_interval": self.poll_interval,
                "max_calls_per_poll": self.max_calls_per_poll,
                "page_size": self.page_size,
                "lookback": self.lookback,
                "gcp_conn_id": self.gcp_conn_id,
                "impersonation_chain": self.impersonation_chain,
            },
        )

    def _hook(self) -> GoogleOperationsHook:
        read = max(5.0, min(60.0, self.poll_interval))
        return GoogleOperationsHook(
            gcp_conn_id=self.gcp_conn_id,
            impersonation_chain=self.impersonation_chain,
            retry=WATCH_RETRY,
            timeouts=Timeouts(connect=min(10.0, read), read=read),
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        state = self._new_state(time.time())
        cursor = Cursor()
        names = ", ".join(c.parent for c in self._collections)
        self.log.info(
            "Watching %s operations in %s for %s (every %g s, at most %d calls per poll, since %s)",
            self.service,
            names,
            ",".join(self.conditions),
            self.poll_interval,
            self.max_calls_per_poll,
            state.watermark.isoformat(),
        )
        async with self._hook().async_client() as client:
            while True:
                started = time.monotonic()
                plan = poll_plan(
                    self._collections,
                    cursor,
                    budget=self.max_calls_per_poll,
                    filter=self.filter,
                    page_size=self.page_size,
                    deadline=client.clock() + max(self.poll_interval, 30.0),
                )
                try:
                    result = await client._run(plan)
                except OperationsError as exc:
                    if not WATCH_RETRY.is_retryable(exc):
                        raise  # bad filter, permission denied, not found: a configuration error, not an outage
                    self.log.warning("Listing failed (retried at the next poll): %s", exc)
                else:
                    cursor = result.cursor
                    now = time.time()
                    for coll, operations in result.pages:
                        for event in state.observe(coll, operations, now=now):
                            self.log.info("Operation %s: %s", event.operation.name, event.condition.value)
                            yield TriggerEvent(event.to_payload())
                    if result.pass_completed:
                        state.end_pass()
                await asyncio.sleep(max(0.0, self.poll_interval - (time.monotonic() - started)))


__all__ = ["OperationsWatcherTrigger"]

"""``OperationsHousekeepingOperator``: cancel forgotten long-running operations and delete old records, on a schedule.

What to do with each operation is decided by a pure function (``operations/housekeeping.py``); this module lists,
sends the planned requests concurrently, and reports.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_gcp_ops.operators._common import OperationTask, seconds

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_gcp_ops.hooks.credentials import ConnectionSettings
    from airflow_provider_gcp_ops.operations.async_client import AsyncOperationsClient
    from airflow_provider_gcp_ops.operations.housekeeping import PlannedAction, Report
    from airflow_provider_gcp_ops.operations.model import Operation
    from airflow_provider_gcp_ops.operations.names import CollectionRef
    from airflow_provider_gcp_ops.operations.pacing import AdaptivePacer

__all__ = ["MAX_CONCURRENCY", "OperationsHousekeepingOperator"]

MAX_CONCURRENCY = 64  # the async client's shared pool has 64 connections: more would only queue


def _flag(value: object, what: str) -> bool:
    """A bool, or its rendered template text (``"True"``/``"false"``): ``dry_run`` may come from a DAG param."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"{what} must be a boolean (or 'true'/'false'), got {value!r}")


class OperationsHousekeepingOperator(OperationTask, BaseOperator):  # type: ignore[misc]
    """Cancel operations running too long and delete old records of finished ones, across locations of a service.

    For a scheduled "housekeeping" DAG. Per run:

    1. **List** every operation under each parent (``parents=[...]``, or ``project_id`` + ``locations``), with the
       server-side ``filter`` if you give one (its syntax is the service's).
    2. **Plan** (a pure function, see ``operations/housekeeping.py``): a running operation whose age (now minus its
       start time from the metadata) is at least ``cancel_running_older_than`` gets a cancel; a done operation
       whose age (from its end time, else its start time) is at least ``delete_done_older_than`` and whose state
       is in ``delete_states`` gets a delete. An operation whose age cannot be read from its metadata is skipped
       with a reason, as is every action the service lacks (Dialogflow: no delete; Cloud Run, Composer: no
       cancel): no request is sent for those. Oldest first, at most ``max_actions`` requests per run.
    3. **Act** (unless ``dry_run``): the planned cancels and deletes, at most ``max_concurrency`` requests in
       flight, on the async client (one shared connection pool; 429 / 503 are retried by the client's policy,
       which waits at least what ``Retry-After`` / ``RetryInfo`` ask). Every request of the run (listing pages
       too) is paced by one adaptive token bucket (``operations/pacing.py``): after a 429 the run's rate drops
       below what the quota admitted, then grows back slowly, so the run settles just under the quota instead
       of every request backing off alone; never above ``max_requests_per_second``. One failing operation does
       not stop the others: an operation gone meanwhile (NOT_FOUND) or one the server will not cancel
       (UNIMPLEMENTED, or FAILED_PRECONDITION because it just finished) is skipped with a reason; anything else is
       an error.
    4. **Report**: a JSON summary (XCom ``return_value``), also logged as a table. Then, when errors remain and
       ``fail_on_errors`` (default), the task fails, after having done everything else (the summary is pushed
       to ``return_value`` all the same, for a downstream task with ``trigger_rule="all_done"``).

    Cancel is best effort: ``cancelled`` counts cancel requests the server accepted. The operation ends
    (``done``, CANCELLED) later; the next run deletes its record once it is old enough.

    The summary: ``service``, ``parents``, ``dry_run``, ``thresholds``, ``listed``, ``listed_by_state``,
    ``untouched``, ``planned`` (``{"cancel": n, "delete": n}``), ``cancelled``, ``deleted``,
    ``cancelled_examples``, ``deleted_examples``, ``skipped`` (``total``, ``by_reason``, ``examples`` per reason),
    ``errors`` (``total``, ``examples``: ``{"name", "action", "error"}``), ``unreachable``, ``truncated_parents``,
    ``pacing`` (``max_requests_per_second``, ``admitted``, ``throttled_429``, ``rate_cuts``,
    ``final_rate_per_s``), ``now``, ``duration_s``. Examples are the first ``max_examples`` names of each kind;
    counts are complete.

    :param service: service key of the service table (``dataproc``, ``datafusion``, ``dialogflow``, ...). Templated.
    :param parents: operation collections to clean, e.g. ``["projects/p/regions/us-central1"]`` (``/operations``
        optional; full resource names and REST URLs accepted). Templated.
    :param project_id: with ``locations``, instead of ``parents``: every operation collection of the service in
        those locations (Dataproc: both ``regions/{r}`` and ``locations/{r}``; Dialogflow ``global``:
        ``projects/{p}``). Default: the connection's ``project`` extra. Templated.
    :param locations: see ``project_id``. Templated.
    :param api_version: API version (default: the service's first).
    :param filter: server-side list filter, in the service's syntax (e.g. Dataproc
        ``status.state = RUNNING``); ``None`` lists everything. Templated.
    :param cancel_running_older_than: cancel running operations at least this old (``timedelta`` or seconds);
        ``None``: cancel nothing.
    :param delete_done_older_than: delete records of done operations at least this old; ``None``: delete nothing.
    :param delete_states: which done states may be deleted (default all: ``succeeded``, ``failed``,
        ``cancelled``); e.g. leave out ``failed`` to keep failures for inspection.
    :param dry_run: list and plan only, send no cancel or delete (default ``False``). Templated (``"true"`` /
        ``"false"`` accepted, so it can come from a DAG param). Kept as the attribute ``is_dry_run``
        (``BaseOperator.dry_run`` is a method).
    :param max_concurrency: most requests in flight at once (default 8, at most 64).
    :param max_requests_per_second: the run's ceiling on requests per second, e.g. your project's quota for the
        API's requests per minute divided by 60 (less what else uses it); the run adapts below it on 429s.
        ``None`` (default): no ceiling, the run finds the quota from its 429s.
    :param max_actions: most cancel + delete requests per run (default 1000; the oldest go first); ``None``: no cap.
    :param max_listed: most operations listed per parent (default 10,000); a parent that has more is named in
        ``truncated_parents``. ``None``: no cap.
    :param page_size: list page size (default: the server's).
    :param fail_on_errors: fail the task at the end when any request failed (default ``True``).
    :param max_examples: how many names the summary keeps per kind (default 10).
    :param gcp_conn_id: Airflow connection (``google_cloud_default``: a missing connection means ADC).
    :param impersonation_chain: service account to impersonate, or a chain. Templated.
    """

    template_fields: Sequence[str] = (
        "service",
        "parents",
        "project_id",
        "locations",
        "filter",
        "is_dry_run",
        "gcp_conn_id",
        "impersonation_chain",
    )
    ui_color = "#fff2cc"

    def __init__(
        self,
        *,
        service: str,
        parents: Sequence[str] | None = None,
        project_id: str | None = None,
        locations: Sequence[str] | None = None,
        api_version: str | None = None,
        filter: str | None = None,
        cancel_running_older_than: float | timedelta | None = None,
        delete_done_older_than: float | timedelta | None = None,
        delete_states: Sequence[str] = ("succeeded", "failed", "cancelled"),
        dry_run: bool | str = False,
        max_concurrency: int = 8,
        max_requests_per_second: float | None = None,
        max_actions: int | None = 1000,
        max_listed: int | None = 10_000,
        page_size: int | None = None,
        fail_on_errors: bool = True,
        max_examples: int = 10,
        gcp_conn_id: str = "google_cloud_default",
        impersonation_chain: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        # cancel_on_kill: housekeeping owns no operation
        super().__init__(gcp_conn_id=gcp_conn_id, impersonation_chain=impersonation_chain, **kwargs)
        if parents is not None and (project_id is not None or locations is not None):
            raise ValueError("pass either parents=[...] or project_id= with locations=[...], not both")
        if parents is None and not locations:
            raise ValueError(
                "pass parents=[...], or locations=[...] (with project_id=, or the connection's project extra)"
            )
        if isinstance(parents, str) or isinstance(locations, str):
            raise ValueError("parents and locations are lists of strings, not a single string")
        self.service = service
        self.parents = list(parents) if parents is not None else None
        self.project_id = project_id
        self.locations = list(locations) if locations is not None else None
        self.api_version = api_version
        self.filter = filter
        self.cancel_running_older_than = seconds(cancel_running_older_than, "cancel_running_older_than")
        self.delete_done_older_than = seconds(delete_done_older_than, "delete_done_older_than")
        if self.cancel_running_older_than is None and self.delete_done_older_than is None:
            raise ValueError("nothing to do: set cancel_running_older_than and/or delete_done_older_than")
        unknown = sorted(set(delete_states) - {"succeeded", "failed", "cancelled"})
        if unknown:
            raise ValueError(f"delete_states may hold 'succeeded', 'failed', 'cancelled'; got {unknown}")
        self.delete_states = tuple(delete_states)
        # Stored as ``is_dry_run``: ``BaseOperator.dry_run`` is a method.
        self.is_dry_run = dry_run
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
            raise ValueError(f"max_concurrency must be an integer, got {max_concurrency!r}")
        if not 1 <= max_concurrency <= MAX_CONCURRENCY:
            raise ValueError(f"max_concurrency must be between 1 and {MAX_CONCURRENCY}, got {max_concurrency}")
        self.max_concurrency = max_concurrency
        from airflow_provider_gcp_ops.operations.pacing import checked_rate

        self.max_requests_per_second = checked_rate(max_requests_per_second)
        for what, value in (("max_actions", max_actions), ("max_listed", max_listed), ("page_size", page_size)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValueError(f"{what} must be a non-negative integer or None, got {value!r}")
        self.max_actions = max_actions
        self.max_listed = max_listed
        self.page_size = page_size
        self.fail_on_errors = fail_on_errors
        self.max_examples = max_examples

    # -- execution -------------------------------------------------------------------------------------------
    def _collections(self) -> list[CollectionRef]:
        """Validate every parent before any request."""
        from airflow_provider_gcp_ops.operations.housekeeping import select_collections

        project_id = None
        if self.parents is None:
            project_id = self.project_id or self.hook.project_id
            if not project_id:
                raise ValueError(
                    f"{self.task_id}: no project: pass project_id= or parents=, or set the connection's "
                    f"'project' extra ({self.gcp_conn_id})"
                )
        return select_collections(
            self.service,
            parents=self.parents,
            project_id=project_id,
            locations=self.locations,
            api_version=self.api_version,
        )

    def execute(self, context: Context) -> dict[str, Any]:
        import asyncio

        from airflow_provider_gcp_ops._compat import AirflowException
        from airflow_provider_gcp_ops.operations.housekeeping import Report, format_table
        from airflow_provider_gcp_ops.operations.pacing import AdaptivePacer
        from airflow_provider_gcp_ops.operations.services import Verb, get_service

        dry_run = _flag(self.is_dry_run, "dry_run")
        spec = get_service(self.service)
        collections = self._collections()
        report = Report(
            service=spec.key,
            parents=[c.parent for c in collections],
            dry_run=dry_run,
            thresholds={
                "cancel_running_older_than_s": self.cancel_running_older_than,
                "delete_done_older_than_s": self.delete_done_older_than,
            },
            max_examples=self.max_examples,
        )
        now = datetime.now(timezone.utc)
        pacer = AdaptivePacer(max_rate=self.max_requests_per_second)
        started = time.monotonic()
        self.log.info(
            "Housekeeping %s under %d parent(s)%s: %s",
            spec.title,
            len(collections),
            " (dry run: nothing will be cancelled or deleted)" if dry_run else "",
            ", ".join(report.parents),
        )
        # The connection is resolved before the event loop starts (see GoogleOperationsHook.async_client).
        asyncio.run(
            self._run(
                collections,
                report,
                settings=self.hook.get_settings(),
                pacer=pacer,
                now=now,
                dry_run=dry_run,
                can_cancel=spec.supports(Verb.CANCEL),
                can_delete=spec.supports(Verb.DELETE),
            )
        )
        summary = report.summary(
            pacing=pacer.summary(), now=now.isoformat(), duration_s=round(time.monotonic() - started, 3)
        )
        title = f"Operations housekeeping: {spec.title}{' (dry run)' if dry_run else ''}"
        self.log.info("\n%s", format_table(title, report.table_rows()))
        for error in report.errors:
            self.log.warning("%s %s failed: %s", error["action"], error["name"], error["error"])
        if report.error_count and self.fail_on_errors:
            # A failing task returns nothing: push the summary ourselves, for a downstream reader (all_done).
            ti = context.get("ti")
            if ti is not None:
                ti.xcom_push(key="return_value", value=summary)
            raise AirflowException(
                f"Housekeeping finished with {report.error_count} error(s) (fail_on_errors=True); "
                f"first: {report.errors[0]['action']} {report.errors[0]['name']}: {report.errors[0]['error']}"
            )
        return summary

    async def _run(
        self,
        collections: list[CollectionRef],
        report: Report,
        *,
        settings: ConnectionSettings,
        pacer: AdaptivePacer,
        now: datetime,
        dry_run: bool,
        can_cancel: bool,
        can_delete: bool,
    ) -> None:
        import asyncio

        from airflow_provider_gcp_ops.operations.housekeeping import plan_housekeeping

        gate = asyncio.Semaphore(self.max_concurrency)
        async with self.hook.async_client(settings) as client:
            client.pacer = pacer  # one bucket for every request of this run: listing pages, cancels, deletes
            listings = await asyncio.gather(*(self._list(client, gate, c, report) for c in collections))
            plan = plan_housekeeping(
                (op for ops in listings for op in ops),
                now=now,
                cancel_running_older_than=self.cancel_running_older_than,
                delete_done_older_than=self.delete_done_older_than,
                can_cancel=can_cancel,
                can_delete=can_delete,
                delete_states=self.delete_states,
                max_actions=self.max_actions,
            )
            report.add_plan(plan)
            if dry_run:
                for action in plan.actions:
                    self.log.info("Dry run: would %s %s (age %.0f s)", action.verb, action.name, action.age_s)
                return
            # Outcomes are recorded in plan order (not completion order), so the summary's examples are stable.
            outcomes = await asyncio.gather(*(self._act(client, gate, a) for a in plan.actions))
        for action, outcome in zip(plan.actions, outcomes, strict=True):
            if outcome is None:
                report.performed(action)
            elif isinstance(outcome, str):
                report.skip(action.name, outcome)
            else:
                report.error(action.name, action.verb, outcome)

    async def _list(
        self, client: AsyncOperationsClient, gate: Any, coll: CollectionRef, report: Report
    ) -> list[Operation]:
        """Every operation of one collection (up to ``max_listed``); a failed listing is an error, not a crash."""
        from airflow_provider_gcp_ops.operations.errors import OperationsError

        cap = None if self.max_listed is None else self.max_listed + 1  # one more, to know whether there were more
        ops: list[Operation] = []
        try:
            # One page request at a time per collection; the gate bounds requests across collections and actions.
            async with gate:
                pager = client.list(coll, filter=self.filter or None, page_size=self.page_size, max_results=cap)
                async for op in pager:
                    ops.append(op)
        except OperationsError as exc:
            self.log.warning("Listing %s failed: %s", coll.parent, exc)
            report.error(coll.parent, "list", exc)
            return []
        for location in pager.unreachable:
            if location not in report.unreachable:
                report.unreachable.append(location)
        if self.max_listed is not None and len(ops) > self.max_listed:
            ops = ops[: self.max_listed]
            report.truncated_parents.append(coll.parent)
            self.log.warning("%s has more than max_listed=%d operations; the rest waits", coll.parent, self.max_listed)
        self.log.info("Listed %d operation(s) under %s", len(ops), coll.parent)
        return ops

    async def _act(self, client: AsyncOperationsClient, gate: Any, action: PlannedAction) -> str | Exception | None:
        """Send one planned request. ``None``: done; a reason: skipped; an exception: an error (never raised)."""
        from airflow_provider_gcp_ops.operations.errors import FailedPrecondition, NotFound, Unimplemented

        where = {"service": self.service, "api_version": self.api_version}
        async with gate:
            try:
                if action.verb == "cancel":
                    await client.cancel(action.name, **where)
                else:
                    await client.delete(action.name, **where)
            except NotFound:
                return "not_found"
            except Unimplemented:
                return "unimplemented_by_server"
            except FailedPrecondition as exc:
                if action.verb == "cancel":
                    try:
                        if (await client.get(action.name, **where)).done:
                            return "finished_before_cancel"
                    except Exception as again:
                        return again
                return exc
            except Exception as exc:
                return exc
        self.log.info(
            "%s %s (age %.0f s)",
            "Cancel requested for" if action.verb == "cancel" else "Deleted",
            action.name,
            action.age_s,
        )
        return None

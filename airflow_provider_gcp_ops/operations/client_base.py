"""What the sync and async clients share: settings, name resolution, the plans for each verb, deadlines.

The two clients differ only in how they move bytes and how they sleep; everything else is here or in the
sans-IO modules, once.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .core import cancel_request, delete_request, get_request, parse_empty, parse_operation
from .errors import InvalidOperationNameError
from .limits import MAX_PAGES
from .methods import method_request
from .model import Operation
from .names import CollectionRef, OperationRef, resolve_collection, resolve_operation, validate_endpoint
from .plans import DEFAULT_MAX_OUTAGE_S, Plan, Send, list_plan, single, wait_plan
from .polling import PollSchedule
from .retry import DEFAULT_RETRY, JITTER, RetryPolicy

T = TypeVar("T")
_Ref = TypeVar("_Ref", OperationRef, CollectionRef)

EMULATOR_ENV = "GCP_OPERATIONS_EMULATOR_HOST"
USER_AGENT = "airflow-provider-gcp-ops"


def user_agent() -> str:
    """``airflow-provider-gcp-ops (pid N)``: which process sent a request (a triggerer, a worker's task)."""
    pid = os.getpid()
    known = _USER_AGENTS.get(pid)
    if known is None:  # once per process (a forked child has its own pid): not formatted on every request
        known = _USER_AGENTS[pid] = f"{USER_AGENT} (pid {pid})"
    return known


_USER_AGENTS: dict[int, str] = {}


# The shortest read timeout we will use when a deadline is close: below it a request cannot complete anyway.
MIN_READ_TIMEOUT_S = 0.5

_EMULATOR_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})*|\[[0-9a-fA-F:.]+\]):([0-9]{1,5})",
    re.ASCII,
)


@dataclass(frozen=True)
class Timeouts:
    """Per-request timeouts in seconds. ``read`` also bounds each write; ``pool`` the wait for a free connection
    (async client: thousands of triggers may queue for the shared pool; that wait is ours, not the server's)."""

    connect: float = 10.0
    read: float = 60.0
    pool: float = 120.0

    def __post_init__(self) -> None:
        if not (self.connect > 0 and self.read > 0 and self.pool > 0):
            raise ValueError(f"timeouts must be positive, got {self!r}")


DEFAULT_TIMEOUTS = Timeouts()  # immutable: shared by every client that does not set its own

# One quick, best-effort cancel (every kill path: the operators' on_kill and timeouts, the trigger's on_kill and
# CancelledError path): short timeouts, at most one retry on a transient error, all within 15 s; never a wait.
# The 15 s bound the whole call (``cancel(..., timeout=QUICK_CANCEL_S)``): the second attempt's connect and read
# timeouts are cut to what is left, so a stalled server cannot stretch it (measured: bench/quick_cancel.py).
QUICK_CANCEL_S = 15.0
# What the call is given: a last attempt may get MIN_READ_TIMEOUT_S past its deadline, so the whole stays within.
QUICK_CANCEL_TIMEOUT_S = QUICK_CANCEL_S - MIN_READ_TIMEOUT_S
QUICK_CANCEL_TIMEOUTS = Timeouts(connect=5.0, read=10.0)
QUICK_CANCEL_RETRY = RetryPolicy(max_attempts=2, initial_backoff=0.5, max_backoff=1.0, deadline=QUICK_CANCEL_S)


def emulator_base_url(emulator_host: str | None) -> str | None:
    """``http://host:port`` for an emulator given as ``host:port`` (the convention of ``PUBSUB_EMULATOR_HOST``)."""
    if emulator_host is None or emulator_host == "":
        return None
    match = _EMULATOR_HOST.fullmatch(emulator_host) if isinstance(emulator_host, str) else None
    if match is None or not 0 < int(match.group(1)) < 65536 or len(emulator_host) > 260:
        raise InvalidOperationNameError(
            f"emulator host must be 'host:port' (no scheme, no path), got {emulator_host!r}", value=emulator_host
        )
    return f"http://{emulator_host}"


def emulator_host_from_env() -> str | None:
    return os.environ.get(EMULATOR_ENV) or None


class ClientBase:
    """Settings and plan builders common to :class:`OperationsClient` and :class:`AsyncOperationsClient`.

    ``emulator_host`` sends every call over plain HTTP to that ``host:port`` with a static token. ``endpoint``
    replaces the host derived from the service table (a private or regional endpoint you configured); it never
    comes from an operation name. ``clock`` (monotonic) and ``wall_clock`` (epoch) are injectable for tests.
    """

    def __init__(
        self,
        *,
        emulator_host: str | None = None,
        endpoint: str | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        poll: PollSchedule | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = emulator_base_url(emulator_host)
        self.endpoint = endpoint
        self.timeouts = timeouts or DEFAULT_TIMEOUTS
        self.retry = retry or DEFAULT_RETRY
        self.poll = poll or PollSchedule()
        self.clock = clock
        self.wall_clock = wall_clock

    # -- names ---------------------------------------------------------------------------------------------
    def operation_ref(
        self, name: str | OperationRef, *, service: str | None = None, api_version: str | None = None
    ) -> OperationRef:
        if isinstance(name, OperationRef):
            return self._on_endpoint(name)
        return resolve_operation(name, service=service, api_version=api_version, endpoint=self.endpoint)

    def collection_ref(
        self, parent: str | CollectionRef, *, service: str | None = None, api_version: str | None = None
    ) -> CollectionRef:
        if isinstance(parent, CollectionRef):
            return self._on_endpoint(parent)
        return resolve_collection(parent, service=service, api_version=api_version, endpoint=self.endpoint)

    def _on_endpoint(self, ref: _Ref) -> _Ref:
        """A ref resolved elsewhere (an operator validating early, a trigger event) goes to our endpoint too."""
        if self.endpoint is None:
            return ref
        host = validate_endpoint(self.endpoint)
        return ref if ref.host == host else dataclasses.replace(ref, host=host)

    # -- plans -------------------------------------------------------------------------------------------------
    def get_plan(self, name: str | OperationRef, *, timeout: float | None = None, **kw: Any) -> Plan[Operation]:
        deadline = self.deadline(timeout=timeout)
        return single(get_request(self.operation_ref(name, **kw)), parse_operation, deadline=deadline)

    def cancel_plan(self, name: str | OperationRef, *, timeout: float | None = None, **kw: Any) -> Plan[None]:
        """``timeout``: the whole call (every attempt, its connect and read, the backoff) ends within it."""
        deadline = self.deadline(timeout=timeout)
        return single(cancel_request(self.operation_ref(name, **kw)), parse_empty, deadline=deadline)

    def delete_plan(self, name: str | OperationRef, *, timeout: float | None = None, **kw: Any) -> Plan[None]:
        deadline = self.deadline(timeout=timeout)
        return single(delete_request(self.operation_ref(name, **kw)), parse_empty, deadline=deadline)

    def start_plan(
        self,
        method: str,
        path: str,
        *,
        service: str | None = None,
        api_version: str | None = None,
        body: Any = None,
        query: Any = None,
    ) -> Plan[Operation]:
        """Call a method that returns an Operation (``batches.create``). Validation and the non-idempotent retry
        rule are in :mod:`.methods`; the retry policy is the client's, so build the client with
        :func:`.methods.start_retry`.
        """
        request = method_request(
            method, path, service=service, api_version=api_version, body=body, query=query, endpoint=self.endpoint
        )
        return single(request, parse_operation)

    def wait_plan(
        self,
        name: str | OperationRef,
        *,
        timeout: float | None = None,
        deadline: float | None = None,
        use_server_wait: bool = True,
        max_outage_s: float | None = DEFAULT_MAX_OUTAGE_S,
        wake_grid_s: float | None = None,
        **kw: Any,
    ) -> Plan[Operation]:
        """``timeout`` (seconds from now) or ``deadline`` (monotonic, as from ``clock``): the earlier wins.

        Transient errors (this client's retry policy decides which) are ridden out until the deadline, or without
        one for ``max_outage_s`` in a row (see :func:`.plans.wait_plan`). ``wake_grid_s``: sleeps between polls
        end on a multiple of it, later by less than it and 1 % (see :func:`.plans.on_grid`).
        """
        ref = self.operation_ref(name, **kw)
        return wait_plan(
            ref,
            deadline=self.deadline(timeout=timeout, deadline=deadline),
            now=self.clock,
            wall_now=self.wall_clock,
            schedule=self.poll,
            use_server_wait=use_server_wait,
            transient=self.retry.is_retryable,
            max_outage_s=max_outage_s,
            wake_grid_s=wake_grid_s,
        )

    def list_plan(
        self,
        parent: str | CollectionRef,
        *,
        service: str | None = None,
        api_version: str | None = None,
        filter: str | None = None,
        page_size: int | None = None,
        return_partial_success: bool = False,
        max_results: int | None = None,
        timeout: float | None = None,
        max_pages: int = MAX_PAGES,
    ) -> Plan[tuple[str, ...]]:
        coll = self.collection_ref(parent, service=service, api_version=api_version)
        return list_plan(
            coll,
            filter=filter,
            page_size=page_size,
            return_partial_success=return_partial_success,
            max_results=max_results,
            deadline=self.deadline(timeout=timeout),
            max_pages=max_pages,
        )

    # -- deadlines -------------------------------------------------------------------------------------------
    def deadline(self, *, timeout: float | None = None, deadline: float | None = None) -> float | None:
        if timeout is not None and timeout < 0:
            raise ValueError(f"timeout must be >= 0, got {timeout!r}")
        candidates = [d for d in (deadline, None if timeout is None else self.clock() + timeout) if d is not None]
        return min(candidates) if candidates else None

    def connect_timeout(self, send: Send[Any]) -> float:
        """The connect timeout for one attempt: the client's, never past the action's deadline."""
        connect = self.timeouts.connect
        if send.deadline is not None:
            connect = min(connect, max(MIN_READ_TIMEOUT_S, send.deadline - self.clock()))
        return connect

    def read_timeout(self, send: Send[Any]) -> float:
        """The read timeout for one attempt: the client's (or the action's), never past the action's deadline."""
        read = send.read_timeout if send.read_timeout is not None else self.timeouts.read
        if send.deadline is not None:
            read = min(read, max(MIN_READ_TIMEOUT_S, send.deadline - self.clock()))
        return read

    def attempt_deadline(self, send: Send[Any]) -> float:
        """When one attempt must be over, on ``time.monotonic``: connect plus read as a whole (not per socket
        read), never past the action's deadline (its clock may be a test's: only the time left is carried over)."""
        budget = self.timeouts.connect + self.read_timeout(send)
        if send.deadline is not None:
            budget = min(budget, max(MIN_READ_TIMEOUT_S, send.deadline - self.clock()))
        return time.monotonic() + budget

    def pool_timeout(self, send: Send[Any]) -> float:
        """How long one request may queue for a connection: the pool timeout, never past the deadline."""
        wait = self.timeouts.pool
        if send.deadline is not None:
            wait = min(wait, max(MIN_READ_TIMEOUT_S, send.deadline - self.clock()))
        return wait

    def retry_sleep(self, send: Send[Any], exc: BaseException, *, attempt: int, started: float) -> float | None:
        """After failed attempt ``attempt`` of ``send`` (first one begun at ``started``, on ``clock``): seconds to
        sleep before the next, or ``None`` to re-raise. The client's policy, never past the action's deadline."""
        return self.retry.next_sleep(
            exc, attempt=attempt, started=started, now=self.clock(), rng=JITTER, deadline=send.deadline
        )

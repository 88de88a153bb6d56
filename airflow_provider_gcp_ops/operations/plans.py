"""Multi-step flows as sans-IO plans: generators that yield actions and receive their results.

A plan decides *what* to do next (send this request, sleep this long, hand these items to the caller); a driver
(the sync client or the async client) only carries the action out. So the wait loop and the pagination loop are
written once, and both clients run the very same logic. A plan never reads a clock of its own accord: ``now`` is
passed in, which also makes plans testable on a simulated clock.

Protocol: ``action = next(plan)``; then repeatedly ``action = plan.send(result)`` where ``result`` is the parsed
response of a :class:`Send`, ``None`` after a :class:`Sleep` or an :class:`Emit`. A driver that fails to carry
out a :class:`Send` throws the exception into the plan (``plan.throw``) so the plan can decide; a plan that does
not catch it lets it propagate. The plan's return value is the flow's result.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from .core import (
    HttpRequest,
    ListPage,
    get_request,
    list_request,
    parse_list,
    parse_operation,
    wait_request,
)
from .errors import MalformedResponseError, OperationsError, WaitTimeout
from .limits import MAX_PAGES, ListingTooLong
from .model import Operation
from .names import CollectionRef, OperationRef
from .polling import PollSchedule
from .services import Verb

T = TypeVar("T")

Parser = Callable[[int, Mapping[str, str], bytes, HttpRequest], Any]


@dataclass(frozen=True)
class Send(Generic[T]):
    """Send ``request`` (retrying as the client's policy says, never past ``deadline``) and parse the answer."""

    request: HttpRequest
    parse: Callable[[int, Mapping[str, str], bytes, HttpRequest], T]
    deadline: float | None = None  # monotonic seconds; bounds this call's retries and its read timeout
    read_timeout: float | None = None  # overrides the client's read timeout (a server-side :wait holds the line)


@dataclass(frozen=True)
class Sleep:
    """Sleep ``seconds``. ``until``: the sleep ends on a wake grid, at this instant of the plan's clock (every
    sleep ending on it ends at the same instant: a driver may wake them together, see :func:`on_grid`)."""

    seconds: float
    until: float | None = None


@dataclass(frozen=True)
class Emit:
    """Hand these items to the caller (a lazily iterated listing)."""

    items: tuple[Any, ...]


Action = Send[Any] | Sleep | Emit
Plan = Generator[Action, Any, T]

# A server-side :wait holds the connection for at most this long per call; then we ask again. Google documents
# that :wait may return early, so a shorter hold costs nothing in correctness.
SERVER_WAIT_HOLD_S = 30.0
# Extra read time on top of a server-side wait's hold, for the server to answer.
SERVER_WAIT_GRACE_S = 10.0


# How long a wait without a deadline rides out a transient outage (the retries of single calls exhausted, the
# service still failing): counted from the first failed poll since the last successful one.
DEFAULT_MAX_OUTAGE_S = 1800.0


def wait_plan(
    ref: OperationRef,
    *,
    deadline: float | None,
    now: Callable[[], float],
    schedule: PollSchedule,
    wall_now: Callable[[], float] | None = None,
    use_server_wait: bool = True,
    transient: Callable[[BaseException], bool] | None = None,
    max_outage_s: float | None = DEFAULT_MAX_OUTAGE_S,
    wake_grid_s: float | None = None,
) -> Plan[Operation]:
    """Poll ``ref`` until it is done or ``deadline`` (monotonic) passes, then raise :class:`WaitTimeout`.

    Uses the service's ``:wait`` where the table says it has one (holding at most ``SERVER_WAIT_HOLD_S`` a call),
    else GET with the poll schedule, whose delay grows with the operation's age (from its metadata start time
    when known, else from when we started watching). Sleeps never overshoot the deadline.

    Outages (the one rule for every wait, in a worker or the triggerer): a poll that still fails after the
    client's retries with an error ``transient`` accepts is ridden out, polling on the same schedule, until
    the deadline (then :class:`WaitTimeout`, as for any deadline); without a deadline for at most ``max_outage_s``
    in a row (then the error is raised). A successful poll ends the outage: its clock starts again at the next
    failure. ``transient=None``: the first failed poll ends the wait.

    ``wake_grid_s`` (the triggerer's many waits in one loop): each sleep between polls is stretched so that it
    ends on a multiple of ``wake_grid_s`` on the ``now`` clock (longer by less than ``wake_grid_s`` and less than
    1 % of it; never shortened, never past the deadline), so waits polling at nearby times wake together (see
    :func:`on_grid`).
    """
    started = now()
    server_wait = use_server_wait and ref.supports(Verb.WAIT)
    outage = _Outage(now, deadline, transient, max_outage_s)
    op: Operation | None = None
    # Immutable, so one for every GET poll: a waiting trigger allocates as little per poll as it can.
    get = Send(get_request(ref), _LastOperation(), deadline=deadline)
    action, polls = get, 0
    aged: Operation | None = None  # the operation whose start time ``start`` is (a body seen again: the same)
    start: datetime | None = None
    while True:
        try:
            op = yield action
        except OperationsError as exc:
            outage.failed(exc, op, ref)
            pause = outage.pause(schedule.next_delay(polls_so_far=polls, age_s=now() - started))
            yield on_grid(pause, now(), wake_grid_s, deadline)
            polls += 1
            action = get
            continue
        outage.ended()
        if op.done:
            return op
        remaining = None if deadline is None else deadline - now()
        if remaining is not None and remaining <= 0:
            raise WaitTimeout(f"operation {ref.name!r} was still running at the wait deadline", operation=op)
        if server_wait:
            hold = SERVER_WAIT_HOLD_S if remaining is None else max(0.0, min(SERVER_WAIT_HOLD_S, remaining))
            action = Send(
                wait_request(ref, hold), parse_operation, deadline=deadline, read_timeout=hold + SERVER_WAIT_GRACE_S
            )
        else:
            if op is not aged:
                aged, start = op, op.start_time()
            delay = schedule.next_delay(polls_so_far=polls, age_s=_age(start, started, now, wall_now))
            if remaining is not None:
                delay = min(delay, remaining)
            yield on_grid(delay, now(), wake_grid_s, deadline)
            polls += 1
            action = get


class _Outage:
    """The outage clock of one wait: when the current run of failed polls began (``None``: no outage)."""

    def __init__(
        self,
        now: Callable[[], float],
        deadline: float | None,
        transient: Callable[[BaseException], bool] | None,
        max_outage_s: float | None,
    ) -> None:
        self._now, self._deadline, self._transient, self._max = now, deadline, transient, max_outage_s
        self.since: float | None = None

    def failed(self, exc: OperationsError, last: Operation | None, ref: OperationRef) -> None:
        """A poll failed for good: return to ride it out, or raise (the error, or a timeout at the deadline)."""
        if self._transient is None or not self._transient(exc):
            raise exc
        now = self._now()
        if self._deadline is not None and now >= self._deadline:
            raise WaitTimeout(
                f"operation {ref.name!r}: the wait deadline passed during a transient error: {exc}", operation=last
            ) from exc
        self.since = now if self.since is None else self.since
        if self._deadline is None and self._max is not None and now - self.since >= self._max:
            raise exc

    def ended(self) -> None:
        self.since = None

    def pause(self, pause_s: float) -> float:
        if self._deadline is not None:
            pause_s = max(0.0, min(pause_s, self._deadline - self._now()))
        return pause_s


# A sleep stretched onto a wake grid grows by less than this share of itself (and less than the grid).
GRID_STRETCH_MAX = 0.01


def on_grid(delay: float, now: float, grid: float | None, deadline: float | None) -> Sleep:
    """A sleep of ``delay`` stretched to end on the next multiple of ``grid`` (``None``: unchanged): by less than
    ``grid`` and less than :data:`GRID_STRETCH_MAX` of ``delay`` (a shorter delay uses a finer grid).

    Waits whose wake-ups land on the same grid point are woken in one turn of the event loop, and their requests
    go out and come back together: measured, a poll woken alone costs the triggerer more CPU than one woken with
    others (bench/triggerer_scale.py). Never shorter than ``delay`` (the schedule's bounds on how often we poll
    hold), and never past ``deadline`` (then ``delay`` as it was).
    """
    if grid is None or grid <= 0 or delay <= 0:
        return Sleep(delay)
    step = min(grid, delay * GRID_STRETCH_MAX)
    wake = math.ceil((now + delay) / step) * step
    if deadline is not None and wake > deadline:
        return Sleep(delay)
    if wake < now + delay:  # one rounding below: the next grid point
        wake = (math.ceil((now + delay) / step) + 1) * step
    return Sleep(max(delay, wake - now), until=wake)


class _LastOperation:
    """:func:`~.core.parse_operation` for the polls of one wait, remembering the last 2xx body it parsed: the same
    bytes again are the same :class:`Operation` (parsing reads nothing but the body of a 2xx answer), handed back
    without parsing. A running operation's body rarely changes between two polls; every poll that parsed it
    anew would leave a fresh tree of dicts for the garbage collector to walk while the trigger sleeps."""

    __slots__ = ("body", "op")

    def __init__(self) -> None:
        self.body: bytes | None = None
        self.op: Operation | None = None

    def __call__(self, status: int, headers: Mapping[str, str], body: bytes, request: HttpRequest) -> Operation:
        if self.op is not None and 200 <= status < 300 and body == self.body:
            return self.op
        op = parse_operation(status, headers, body, request)
        self.body, self.op = body, op
        return op


def _age(
    start: datetime | None, started: float, now: Callable[[], float], wall_now: Callable[[], float] | None
) -> float:
    if start is not None and wall_now is not None:
        return max(0.0, wall_now() - start.timestamp())
    return now() - started


def list_plan(
    coll: CollectionRef,
    *,
    filter: str | None = None,
    page_size: int | None = None,
    return_partial_success: bool = False,
    max_results: int | None = None,
    deadline: float | None = None,
    max_pages: int = MAX_PAGES,
) -> Plan[tuple[str, ...]]:
    """Every page of a listing, emitted page by page; returns the ``unreachable`` locations seen.

    Stops after ``max_results`` operations (the rest of the last page is dropped) or when a page has no
    ``nextPageToken``. A server that hands back the same token twice would loop forever: that is a
    :class:`MalformedResponseError`; one that always hands out a fresh token ends at ``max_pages`` pages with
    :class:`~.limits.ListingTooLong`.
    """
    if isinstance(max_pages, bool) or not isinstance(max_pages, int) or max_pages < 1:
        raise ValueError(f"max_pages must be a positive integer, got {max_pages!r}")
    if max_results is not None and max_results < 0:
        raise ValueError(f"max_results must be >= 0, got {max_results!r}")
    unreachable: list[str] = []
    seen_tokens: set[str] = set()
    token: str | None = None
    emitted = 0
    pages = 0
    while max_results is None or emitted < max_results:
        request = list_request(
            coll,
            filter=filter,
            page_size=page_size,
            page_token=token,
            return_partial_success=return_partial_success,
        )
        page: ListPage = yield Send(request, parse_list, deadline=deadline)
        pages += 1
        unreachable.extend(u for u in page.unreachable if u not in unreachable)
        items = page.operations
        if max_results is not None:
            items = items[: max_results - emitted]
        if items:
            emitted += len(items)
            yield Emit(items)
        token = page.next_page_token
        if not token:
            break
        if token in seen_tokens:
            raise MalformedResponseError(f"the server returned a page token twice while listing {coll.parent!r}")
        if pages >= max_pages:
            raise ListingTooLong(f"listing {coll.parent!r} went past {max_pages} pages")
        seen_tokens.add(token)
    return tuple(unreachable)


def single(
    request: HttpRequest,
    parse: Callable[[int, Mapping[str, str], bytes, HttpRequest], T],
    *,
    deadline: float | None = None,
) -> Plan[T]:
    """A one-request plan (get, cancel, delete); ``deadline`` (monotonic) bounds it, retries included."""
    result: T = yield Send(request, parse, deadline=deadline)
    return result

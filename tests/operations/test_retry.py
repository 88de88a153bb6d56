"""The retry policy: what is retried, how long we wait, when we stop; identical decisions sync and async."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
import tenacity

from airflow_provider_gcp_ops.operations.errors import (
    Aborted,
    AlreadyExists,
    ApiError,
    Cancelled,
    ConnectionFailed,
    DataLoss,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    InvalidOperationNameError,
    MalformedResponseError,
    NotFound,
    OutOfRange,
    PermissionDenied,
    RequestTimeout,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    Unknown,
    WaitTimeout,
    error_from_response,
    unimplemented_verb,
)
from airflow_provider_gcp_ops.operations.retry import DEFAULT_RETRY, NO_RETRY, RetryPolicy


def http(status: int, rpc: str | None = None) -> ApiError:
    body = b"" if rpc is None else b'{"error": {"code": %d, "message": "m", "status": "%s"}}' % (status, rpc.encode())
    return error_from_response(status, {}, body, method="GET", url="https://h/v1/x")


RETRYABLE: list[BaseException] = [
    http(503, "UNAVAILABLE"),
    http(503),
    http(429, "RESOURCE_EXHAUSTED"),
    http(429),
    http(500, "INTERNAL"),
    http(500),
    http(500, "UNKNOWN"),
    http(502),
    http(504),
    http(504, "DEADLINE_EXCEEDED"),
    http(408),
    ConnectionFailed("connection reset", method="GET", url="https://h/v1/x"),
    RequestTimeout("read timeout", method="GET", url="https://h/v1/x"),
    Unavailable("local"),
]
NOT_RETRYABLE: list[BaseException] = [
    http(400, "INVALID_ARGUMENT"),
    http(400),
    http(400, "FAILED_PRECONDITION"),
    http(400, "OUT_OF_RANGE"),
    http(401),
    http(403, "PERMISSION_DENIED"),
    http(404, "NOT_FOUND"),
    http(409, "ALREADY_EXISTS"),
    http(409, "ABORTED"),
    http(409),
    http(499, "CANCELLED"),
    http(500, "DATA_LOSS"),
    http(501, "UNIMPLEMENTED"),
    http(503, "FAILED_PRECONDITION"),  # the body's status name wins over a retryable HTTP status
    http(418),
    unimplemented_verb("Cloud Composer", "cancel"),
    Unknown("raised locally, no server involved"),
    InvalidOperationNameError("bad", value="x"),
    MalformedResponseError("not json"),
    WaitTimeout("late"),
    ValueError("x"),
    KeyboardInterrupt(),
]


@pytest.mark.parametrize("exc", RETRYABLE, ids=repr)
def test_retryable(exc: BaseException) -> None:
    assert DEFAULT_RETRY.is_retryable(exc)


@pytest.mark.parametrize("exc", NOT_RETRYABLE, ids=repr)
def test_not_retryable(exc: BaseException) -> None:
    assert not DEFAULT_RETRY.is_retryable(exc)


@pytest.mark.parametrize(
    ("cls", "retryable"),
    [
        (Cancelled, False),
        (Unknown, True),  # UNKNOWN maps to 500: retried (locally raised ones are not, see NOT_RETRYABLE)
        (InvalidArgument, False),
        (DeadlineExceeded, True),
        (NotFound, False),
        (AlreadyExists, False),
        (PermissionDenied, False),
        (ResourceExhausted, True),
        (FailedPrecondition, False),
        (Aborted, False),
        (OutOfRange, False),
        (Unimplemented, False),
        (Internal, True),
        (Unavailable, True),
        (DataLoss, False),
        (Unauthenticated, False),
    ],
)
def test_every_class(cls: type[ApiError], retryable: bool) -> None:
    assert DEFAULT_RETRY.is_retryable(cls("m", http_status=cls.code.http_status)) is retryable


# -- a fake world: a clock that only moves when we sleep (or a call takes time) -------------------------------


class World:
    def __init__(self, call_cost: float = 0.0) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.calls = 0
        self.call_cost = call_cost

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)

    def failing(self, errors: list[BaseException], result: object = "ok") -> Callable[[], object]:
        def fn() -> object:
            self.calls += 1
            self.now += self.call_cost
            if errors:
                raise errors.pop(0)
            return result

        return fn


class MaxRandom(random.Random):
    """Full jitter's worst case: always the top of the range."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_attempts_are_bounded_and_the_last_real_error_is_raised() -> None:
    world = World()
    policy = RetryPolicy(max_attempts=4, deadline=1e9)
    errors = [http(503) for _ in range(10)]
    last = errors[3]
    with pytest.raises(Unavailable) as info:
        policy.retrying(sleep=world.sleep, clock=world.clock, rng=random.Random(1))(world.failing(errors))
    assert world.calls == 4
    assert len(world.sleeps) == 3
    assert info.value is last


def test_success_after_transient_failures() -> None:
    world = World()
    fn = world.failing([http(503), ConnectionFailed("reset")], result=42)
    assert DEFAULT_RETRY.retrying(sleep=world.sleep, clock=world.clock)(fn) == 42
    assert world.calls == 3


def test_non_retryable_is_raised_at_once_unwrapped() -> None:
    world = World()
    error = http(404, "NOT_FOUND")
    with pytest.raises(NotFound) as info:
        DEFAULT_RETRY.retrying(sleep=world.sleep, clock=world.clock)(world.failing([error]))
    assert info.value is error
    assert world.calls == 1
    assert world.sleeps == []


def test_no_retry_policy_calls_once() -> None:
    world = World()
    with pytest.raises(Unavailable):
        NO_RETRY.retrying(sleep=world.sleep, clock=world.clock)(world.failing([http(503), http(503)]))
    assert world.calls == 1


def test_never_a_retry_error() -> None:
    world = World()
    with pytest.raises(Unavailable) as info:
        RetryPolicy(max_attempts=2).retrying(sleep=world.sleep, clock=world.clock)(
            world.failing([http(503), http(503)])
        )
    assert not isinstance(info.value, tenacity.RetryError)


def test_full_jitter_within_bounds_and_seeded() -> None:
    policy = RetryPolicy(initial_backoff=1.0, multiplier=2.0, max_backoff=32.0)
    rng = random.Random(1234)
    for attempt in range(1, 12):
        ceiling = min(32.0, 2.0 ** (attempt - 1))
        delays = [policy.backoff(attempt, None, rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > 0.8 * ceiling  # full jitter reaches the top of its range...
        assert min(delays) < 0.2 * ceiling  # ...and the bottom
    again = [RetryPolicy().backoff(3, None, random.Random(7)) for _ in range(3)]
    assert len(set(again)) == 1


def test_backoff_survives_huge_attempt_numbers() -> None:
    assert 0 <= DEFAULT_RETRY.backoff(10_000, None, random.Random(0)) <= DEFAULT_RETRY.max_backoff


def test_server_delay_is_honoured_and_capped() -> None:
    policy = RetryPolicy(max_server_delay=30.0)
    rng = random.Random(0)
    slow = http(429)
    slow.retry_delay = 7.5
    assert all(policy.backoff(1, slow, rng) >= 7.5 for _ in range(50))
    huge = http(503)
    huge.retry_delay = 3600.0
    assert policy.backoff(1, huge, rng) == 30.0


def test_retry_after_sleeps_at_least_the_asked_delay() -> None:
    world = World()
    asked = error_from_response(503, {"Retry-After": "9"}, b"", method="GET", url="https://h/v1/x")
    fn = world.failing([asked])
    assert RetryPolicy().retrying(sleep=world.sleep, clock=world.clock, rng=random.Random(3))(fn) == "ok"
    assert world.sleeps[0] >= 9.0


def test_overall_deadline_stops_before_a_sleep_would_cross_it() -> None:
    world = World(call_cost=0.5)
    policy = RetryPolicy(max_attempts=100, initial_backoff=4.0, multiplier=2.0, max_backoff=100.0, deadline=20.0)
    errors = [http(503) for _ in range(100)]
    with pytest.raises(Unavailable):
        policy.retrying(sleep=world.sleep, clock=world.clock, rng=MaxRandom())(world.failing(errors))
    # sleeps 4 and 8 fit (elapsed 0.5+4+0.5+8+0.5 = 13.5); the next (16) would end at 29.5 > 20: stop
    assert world.sleeps == [4.0, 8.0]
    assert world.calls == 3


def test_outer_absolute_deadline_also_bounds_retries() -> None:
    world = World()
    policy = RetryPolicy(max_attempts=100, initial_backoff=1.0, multiplier=1.0, deadline=1e9).with_deadline(
        world.now + 5.5
    )
    with pytest.raises(Unavailable):
        policy.retrying(sleep=world.sleep, clock=world.clock, rng=MaxRandom())(
            world.failing([http(503) for _ in range(100)])
        )
    assert world.sleeps == [1.0] * 5
    assert world.now <= 1000.0 + 5.5


def test_with_deadline_keeps_the_earlier() -> None:
    policy = DEFAULT_RETRY.with_deadline(50.0)
    assert policy.absolute_deadline == 50.0
    assert policy.with_deadline(80.0).absolute_deadline == 50.0
    assert policy.with_deadline(20.0).absolute_deadline == 20.0
    assert DEFAULT_RETRY.with_deadline(None) is DEFAULT_RETRY
    assert DEFAULT_RETRY.absolute_deadline is None


def test_deadline_is_measured_per_call_when_a_retrying_is_reused() -> None:
    world = World()
    retrying = RetryPolicy(max_attempts=3, initial_backoff=1.0, deadline=10.0).retrying(
        sleep=world.sleep, clock=world.clock, rng=MaxRandom()
    )
    assert retrying(world.failing([http(503)])) == "ok"
    world.now += 1000.0  # long after the first call's deadline
    assert retrying(world.failing([http(503), http(503)])) == "ok"
    assert world.calls == 5


def test_before_sleep_hook_and_iteration_style() -> None:
    world = World()
    seen: list[int] = []
    retrying = DEFAULT_RETRY.retrying(
        sleep=world.sleep, clock=world.clock, before_sleep=lambda state: seen.append(state.attempt_number)
    )
    errors: list[BaseException] = [http(503), http(502)]
    for attempt in retrying:
        with attempt:
            world.calls += 1
            if errors:
                raise errors.pop(0)
    assert world.calls == 3
    assert seen == [1, 2]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"max_attempts": True},
        {"initial_backoff": -1},
        {"max_backoff": float("inf")},
        {"multiplier": 0.5},
        {"deadline": 0},
        {"max_server_delay": float("nan")},
    ],
)
def test_policy_validation(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each field has its own message
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


# -- async: the same decisions -----------------------------------------------------------------------------------


def _scenario() -> list[BaseException]:
    return [http(503), ConnectionFailed("reset"), http(429), http(500), http(404, "NOT_FOUND")]


async def test_async_makes_the_same_decisions_as_sync() -> None:
    policy = RetryPolicy(max_attempts=10, deadline=1e9)

    sync_world = World()
    with pytest.raises(NotFound):
        policy.retrying(sleep=sync_world.sleep, clock=sync_world.clock, rng=random.Random(99))(
            sync_world.failing(_scenario())
        )

    async_world = World()
    errors = _scenario()

    async def call() -> object:
        async_world.calls += 1
        if errors:
            raise errors.pop(0)
        return "ok"

    with pytest.raises(NotFound):
        await policy.async_retrying(sleep=async_world.async_sleep, clock=async_world.clock, rng=random.Random(99))(call)
    assert async_world.calls == sync_world.calls == 5
    assert async_world.sleeps == sync_world.sleeps
    assert len(async_world.sleeps) == 4


async def test_async_deadline_and_reraise() -> None:
    world = World(call_cost=0.5)
    policy = RetryPolicy(max_attempts=100, initial_backoff=4.0, multiplier=2.0, max_backoff=100.0, deadline=20.0)
    last: list[BaseException] = []

    async def call() -> None:
        world.calls += 1
        world.now += world.call_cost
        last.append(http(503))
        raise last[-1]

    with pytest.raises(Unavailable) as info:
        await policy.async_retrying(sleep=world.async_sleep, clock=world.clock, rng=MaxRandom())(call)
    assert info.value is last[-1]
    assert world.sleeps == [4.0, 8.0]


async def test_async_iteration_style_with_async_before_sleep() -> None:
    world = World()
    seen: list[int] = []

    async def hook(state: tenacity.RetryCallState) -> None:
        seen.append(state.attempt_number)

    errors: list[BaseException] = [RequestTimeout("t")]
    async for attempt in DEFAULT_RETRY.async_retrying(sleep=world.async_sleep, clock=world.clock, before_sleep=hook):
        with attempt:
            world.calls += 1
            if errors:
                raise errors.pop(0)
    assert world.calls == 2
    assert seen == [1]

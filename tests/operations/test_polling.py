"""The poll schedule: bounded, monotone, google-api-core's early on, fewer calls for long operations."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_gcp_ops.operations.polling import PollSchedule, remaining

DEFAULT = PollSchedule()
AGES = st.one_of(st.none(), st.just(math.nan), st.just(math.inf), st.floats(min_value=-1e6, max_value=1e7))
POLLS = st.integers(min_value=-3, max_value=10_000)


def api_core(polls: int, _age: float) -> float:
    """google-api-core's default operation polling: 1 s, x1.5, at most 20 s."""
    return min(1.5 ** min(polls, 64), 20.0)


def ours(polls: int, age: float) -> float:
    return DEFAULT.next_delay(polls_so_far=polls, age_s=age)


def simulate(schedule: Callable[[int, float], float], duration: float) -> tuple[int, float, float]:
    """Watch an operation from its start until it finishes at ``duration``: (polls, detection delay, worst gap)."""
    t, polls, worst = 0.0, 0, 0.0
    while True:
        delay = schedule(polls, t)
        worst = max(worst, delay)
        t += delay
        polls += 1
        if t >= duration:
            return polls, t - duration, worst


@given(polls=POLLS, age=AGES)
def test_within_bounds(polls: int, age: float | None) -> None:
    delay = DEFAULT.next_delay(polls_so_far=polls, age_s=age)
    assert DEFAULT.initial <= delay <= DEFAULT.maximum
    assert math.isfinite(delay)


@given(polls=POLLS, a=st.floats(min_value=0, max_value=1e7), b=st.floats(min_value=0, max_value=1e7))
def test_non_decreasing_with_age(polls: int, a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert DEFAULT.next_delay(polls_so_far=polls, age_s=low) <= DEFAULT.next_delay(polls_so_far=polls, age_s=high)


@given(age=AGES, a=POLLS, b=POLLS)
def test_non_decreasing_with_polls(age: float | None, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert DEFAULT.next_delay(polls_so_far=low, age_s=age) <= DEFAULT.next_delay(polls_so_far=high, age_s=age)


@given(
    schedule=st.builds(
        PollSchedule,
        initial=st.floats(min_value=0.01, max_value=10),
        maximum=st.floats(min_value=10, max_value=3600),
        age_factor=st.floats(min_value=0, max_value=2),
        multiplier=st.floats(min_value=1, max_value=4),
        early_maximum=st.floats(min_value=0, max_value=100),
    ),
    polls=POLLS,
    age=AGES,
)
def test_any_valid_schedule_stays_within_bounds(schedule: PollSchedule, polls: int, age: float | None) -> None:
    delay = schedule.next_delay(polls_so_far=polls, age_s=age)
    assert schedule.initial <= delay <= schedule.maximum


def test_matches_google_api_core_for_young_operations() -> None:
    for polls in range(12):
        t = sum(api_core(p, 0) for p in range(polls))
        if t < 200:
            assert ours(polls, t) == api_core(polls, t)


@pytest.mark.parametrize(
    ("duration", "core_polls", "our_polls"),
    [(30, 7, 7), (180, 15, 15), (600, 36, 28), (3600, 186, 78), (6 * 3600, 1086, 378)],
)
def test_the_numbers_in_the_module_docstring(duration: float, core_polls: int, our_polls: int) -> None:
    assert simulate(api_core, duration)[0] == core_polls
    assert simulate(ours, duration)[0] == our_polls


@pytest.mark.parametrize("duration", [2, 10, 45, 120, 200])
def test_no_worse_detection_for_short_operations(duration: float) -> None:
    core = simulate(api_core, duration)
    mine = simulate(ours, duration)
    assert mine[0] <= core[0]
    assert mine[1] <= core[1] + 1e-9


@pytest.mark.parametrize("duration", [300, 600, 1800, 3600, 4 * 3600, 12 * 3600])
def test_long_operations_cost_fewer_calls_with_bounded_relative_delay(duration: float) -> None:
    core_polls, _, _ = simulate(api_core, duration)
    our_polls, detection, worst = simulate(ours, duration)
    assert our_polls < core_polls
    assert detection <= max(20.0, 0.1 * duration)
    assert worst <= DEFAULT.maximum


def test_an_old_operation_is_not_hammered_when_we_start_watching() -> None:
    # A trigger resumed after a triggerer restart: polls_so_far is 0 again, but the operation is 2 h old.
    assert DEFAULT.next_delay(polls_so_far=0, age_s=7200) == 60.0
    assert DEFAULT.next_delay(polls_so_far=0, age_s=300) == 30.0
    assert DEFAULT.next_delay(polls_so_far=0, age_s=None) == 1.0


@pytest.mark.parametrize("age", [-50.0, math.nan, None, 0.0])
def test_unknown_or_skewed_age_is_treated_as_new(age: float | None) -> None:
    assert DEFAULT.next_delay(polls_so_far=0, age_s=age) == DEFAULT.initial


def test_infinite_age_is_the_maximum() -> None:
    assert DEFAULT.next_delay(polls_so_far=0, age_s=math.inf) == DEFAULT.maximum
    assert PollSchedule(age_factor=0).next_delay(polls_so_far=0, age_s=math.inf) == 1.0


def test_remaining_caps_the_delay() -> None:
    assert DEFAULT.next_delay(polls_so_far=20, age_s=1e6, remaining_s=3.0) == 3.0
    assert DEFAULT.next_delay(polls_so_far=20, age_s=1e6, remaining_s=-1.0) == 0.0
    assert DEFAULT.next_delay(polls_so_far=20, age_s=1e6, remaining_s=None) == 60.0


def test_remaining() -> None:
    assert remaining(None, 100.0) is None
    assert remaining(110.0, 100.0) == 10.0
    assert remaining(90.0, 100.0) == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial": 0},
        {"initial": -1},
        {"initial": 10, "maximum": 5},
        {"multiplier": 0.9},
        {"age_factor": -0.1},
        {"maximum": math.inf},
        {"early_maximum": math.nan},
    ],
)
def test_schedule_validation(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each field has its own message
        PollSchedule(**kwargs)

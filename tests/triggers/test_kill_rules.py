"""The kill-path rules of a stopped or killed trigger, exhaustively over every input."""

from __future__ import annotations

import itertools

import pytest

from airflow_provider_gcp_ops.triggers.kill_rules import (
    DEFERRED,
    UNKNOWN,
    TaskState,
    decide_on_kill,
    decide_on_stop,
    needs_rerun_check,
    state_key,
)

# Every state Airflow's TaskInstanceState has, plus "no state" (cleared) and "could not be looked up".
AIRFLOW_STATES = (
    "removed",
    "scheduled",
    "queued",
    "running",
    "success",
    "restarting",
    "failed",
    "up_for_retry",
    "up_for_reschedule",
    "upstream_failed",
    "skipped",
    "deferred",
)
STATES: tuple[TaskState, ...] = (*AIRFLOW_STATES, None, UNKNOWN)


def expected(cancel_on_kill: bool, user_action: bool, state: TaskState, rerun: bool) -> bool:
    """The rule, written independently: cancel only when owned, not a 3.3 user action, and the task is known to
    no longer wait for this trigger (any known state but deferred; deferred on another operation)."""
    if not cancel_on_kill or user_action or state is UNKNOWN:
        return False
    return rerun if state == DEFERRED else True


@pytest.mark.parametrize(
    ("cancel_on_kill", "user_action", "state", "rerun"),
    list(itertools.product((True, False), (True, False), STATES, (True, False))),
)
def test_every_combination(cancel_on_kill: bool, user_action: bool, state: TaskState, rerun: bool) -> None:
    decision = decide_on_stop(
        cancel_on_kill=cancel_on_kill, user_action=user_action, state=state, rerun_watches_another=rerun
    )
    assert decision.cancel is expected(cancel_on_kill, user_action, state, rerun)
    assert decision.reason


def test_cleared_is_known_and_cancels_but_unknown_does_not() -> None:
    assert decide_on_stop(cancel_on_kill=True, user_action=False, state=None).cancel
    assert not decide_on_stop(cancel_on_kill=True, user_action=False, state=UNKNOWN).cancel
    assert not decide_on_stop(cancel_on_kill=True, user_action=False, state="deferred").cancel


@pytest.mark.parametrize("state", STATES)
def test_only_a_deferred_state_needs_the_rerun_lookup(state: TaskState) -> None:
    assert needs_rerun_check(state) is (state == "deferred")


@pytest.mark.parametrize(
    ("map_index", "key"), [(None, "task"), (-1, "task"), (0, "task_0"), (1, "task_1"), (12, "task_12")]
)
def test_state_key_is_airflows(map_index: int | None, key: str) -> None:
    assert state_key("task", map_index) == key


def expected_on_kill(cancel_on_kill: bool, state: TaskState, rerun: bool, past_deadline: bool) -> bool:
    """Airflow 3.3's on_kill, written independently: a user's kill cancels; a hand-over to another triggerer (still
    deferred on this operation) and a resume after the deadline (the timeout path cancels) do not."""
    if not cancel_on_kill:
        return False
    if state == DEFERRED:
        return rerun
    return not (state in ("scheduled", "queued", "running") and past_deadline)


@pytest.mark.parametrize(
    ("cancel_on_kill", "state", "rerun", "past_deadline"),
    list(itertools.product((True, False), STATES, (True, False), (True, False))),
)
def test_on_kill_every_combination(cancel_on_kill: bool, state: TaskState, rerun: bool, past_deadline: bool) -> None:
    decision = decide_on_kill(
        cancel_on_kill=cancel_on_kill, state=state, rerun_watches_another=rerun, past_deadline=past_deadline
    )
    assert decision.cancel is expected_on_kill(cancel_on_kill, state, rerun, past_deadline)
    assert decision.reason

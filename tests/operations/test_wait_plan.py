"""The wait plan's outage rules, driven step by step on a simulated clock (the one place worker and trigger share).

Each Send is answered as a client would: with a parsed Operation, or by throwing the error its retries ended on.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_gcp_ops.operations.errors import NotFound, Unavailable, WaitTimeout
from airflow_provider_gcp_ops.operations.model import Operation
from airflow_provider_gcp_ops.operations.names import resolve_operation
from airflow_provider_gcp_ops.operations.plans import Send, Sleep, on_grid, wait_plan
from airflow_provider_gcp_ops.operations.polling import PollSchedule
from airflow_provider_gcp_ops.operations.retry import DEFAULT_RETRY

NAME = "projects/p/regions/us-central1/operations/o"
RUNNING = Operation.from_json({"name": NAME, "done": False})
DONE = Operation.from_json({"name": NAME, "done": True, "response": {}})
OUTAGE = Unavailable("503 from the service", http_status=503)


class Driver:
    """Carries a plan out on a simulated clock: each Sleep advances it, each Send costs ``send_s``."""

    def __init__(self, answers: list[Any], send_s: float = 60.0) -> None:
        self.t = 0.0
        self.answers = list(answers)
        self.send_s = send_s
        self.sends = 0

    def now(self) -> float:
        return self.t

    def run(self, **kw: Any) -> Operation:
        kw.setdefault("deadline", None)
        plan = wait_plan(
            resolve_operation(NAME, service="dataproc"),
            now=self.now,
            schedule=PollSchedule(initial=10.0, maximum=10.0),
            use_server_wait=False,
            transient=DEFAULT_RETRY.is_retryable,
            **kw,
        )
        action = next(plan)
        try:
            while True:
                if isinstance(action, Sleep):
                    self.t += action.seconds
                    action = plan.send(None)
                    continue
                assert isinstance(action, Send)
                self.sends += 1
                self.t += self.send_s
                answer = self.answers.pop(0)
                action = plan.throw(answer) if isinstance(answer, BaseException) else plan.send(answer)
        except StopIteration as stop:
            result: Operation = stop.value
            return result


def test_an_outage_longer_than_one_calls_retries_is_ridden_out_until_the_service_returns() -> None:
    driver = Driver([RUNNING, *[OUTAGE] * 5, DONE])
    assert driver.run(deadline=10_000.0).done
    assert driver.sends == 7


def test_an_outage_ends_the_wait_at_its_deadline_as_a_timeout_with_the_last_state() -> None:
    driver = Driver([RUNNING, *[OUTAGE] * 100])
    with pytest.raises(WaitTimeout) as caught:
        driver.run(deadline=500.0)
    assert caught.value.operation is RUNNING
    assert 500.0 <= driver.t < 500.0 + driver.send_s + 10.0


def test_without_a_deadline_the_outage_is_bounded_by_max_outage() -> None:
    driver = Driver([RUNNING, *[OUTAGE] * 100])
    with pytest.raises(Unavailable):
        driver.run(max_outage_s=300.0)
    assert 300.0 <= driver.t < 60.0 + 300.0 + 2 * (driver.send_s + 10.0)


def test_a_successful_poll_resets_the_outage_clock() -> None:
    # Two outages of ~280 s each, with a good poll between: neither alone reaches the 300 s bound.
    blip = [OUTAGE] * 4  # 4 x (60 s send + 10 s pause) = 280 s
    driver = Driver([RUNNING, *blip, RUNNING, *blip, DONE])
    assert driver.run(max_outage_s=300.0).done
    # Without the reset the same sequence ends the wait.
    driver = Driver([RUNNING, *blip, *blip, DONE])
    with pytest.raises(Unavailable):
        driver.run(max_outage_s=300.0)


def test_a_permanent_error_ends_the_wait_at_once() -> None:
    driver = Driver([RUNNING, NotFound("gone", http_status=404), DONE])
    with pytest.raises(NotFound):
        driver.run(deadline=10_000.0)
    assert driver.sends == 2


def test_without_a_transient_rule_the_first_failed_poll_ends_the_wait() -> None:
    driver = Driver([RUNNING, OUTAGE, DONE])
    plan_kw: dict[str, Any] = {"deadline": 10_000.0}
    plan = wait_plan(
        resolve_operation(NAME, service="dataproc"),
        now=driver.now,
        schedule=PollSchedule(initial=10.0, maximum=10.0),
        use_server_wait=False,
        **plan_kw,
    )
    assert isinstance(next(plan), Send)
    assert isinstance(plan.send(RUNNING), Sleep)
    assert isinstance(plan.send(None), Send)
    with pytest.raises(Unavailable):
        plan.throw(OUTAGE)


def test_the_pause_during_an_outage_never_overshoots_the_deadline() -> None:
    driver = Driver([RUNNING, *[OUTAGE] * 100], send_s=1.0)
    with pytest.raises(WaitTimeout):
        driver.run(deadline=25.0)
    assert driver.t < 25.0 + 1.0 + 1e-9


def test_on_a_wake_grid_every_sleep_ends_on_a_grid_point_later_by_less_than_the_grid() -> None:
    grid = 0.1
    driver = Driver([RUNNING] * 6 + [DONE], send_s=0.037)
    wakes: list[tuple[float, float]] = []  # (the schedule's delay, the sleep)
    plan = wait_plan(
        resolve_operation(NAME, service="dataproc"),
        now=driver.now,
        schedule=PollSchedule(initial=10.0, maximum=10.0),
        use_server_wait=False,
        deadline=None,
        wake_grid_s=grid,
    )
    action = next(plan)
    try:
        while True:
            if isinstance(action, Sleep):
                wakes.append((10.0, action.seconds))
                driver.t += action.seconds
                assert abs(driver.t / grid - round(driver.t / grid)) < 1e-6  # on the grid
                action = plan.send(None)
            else:
                driver.t += driver.send_s
                action = plan.send(driver.answers.pop(0))
    except StopIteration as stop:
        result: Operation = stop.value
    assert result.done
    assert len(wakes) == 6
    assert all(delay <= slept < delay + grid for delay, slept in wakes)


def test_on_grid_never_shortens_a_sleep_nor_passes_the_deadline() -> None:
    assert on_grid(10.0, 3.05, None, None) == Sleep(10.0)
    stretched = on_grid(10.0, 3.05, 0.1, None)
    assert stretched.seconds == pytest.approx(10.05) and stretched.until == pytest.approx(13.1)
    assert on_grid(10.0, 3.0, 0.1, None).seconds >= 10.0  # already on the grid: unchanged (never a hair shorter)
    assert on_grid(10.0, 3.05, 0.1, 13.07) == Sleep(10.0)  # the grid point is past the deadline: as it was
    assert on_grid(10.0, 3.05, 0.1, 13.15).seconds == pytest.approx(10.05)
    short = on_grid(0.5, 3.0007, 0.1, None)  # a short sleep: a finer grid, at most 1 % longer
    assert 0.5 <= short.seconds < 0.505
    assert short.until is not None and short.until / 0.005 == pytest.approx(701)
    # Two waits computing the same grid point get the same instant (a driver may wake them with one timer).
    assert on_grid(10.0, 3.02, 0.1, None).until == on_grid(10.0, 3.07, 0.1, None).until


def test_an_unchanged_body_is_the_same_operation_without_parsing_again() -> None:
    plan = wait_plan(
        resolve_operation(NAME, service="dataproc"),
        now=lambda: 0.0,
        schedule=PollSchedule(initial=10.0, maximum=10.0),
        use_server_wait=False,
        deadline=None,
    )
    send = next(plan)
    assert isinstance(send, Send)
    body = json.dumps({"name": NAME, "metadata": {"createTime": "2026-01-01T00:00:00Z"}}).encode()
    first = send.parse(200, {}, body, send.request)
    assert send.parse(200, {}, bytes(body), send.request) is first  # equal bytes: the same Operation
    changed = send.parse(200, {}, body.replace(b"2026-01-01", b"2026-01-02"), send.request)
    assert changed is not first and changed.start_time() != first.start_time()
    with pytest.raises(NotFound):  # the same body with an error status is still that error
        send.parse(404, {}, json.dumps({"error": {"code": 404, "status": "NOT_FOUND"}}).encode(), send.request)
    assert send.parse(200, {}, body, send.request) == first

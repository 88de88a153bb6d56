"""The adaptive pacer's decisions on a simulated clock: no sleeping, no server, no timing assertion.

The simulation is a discrete-event run of a bulk job: ``concurrency`` workers, each sending one request at a time,
``latency`` seconds per answer, against the emulator's own quota bucket (``RateLimiter`` on the simulated clock);
a 429 goes through the real retry policy's backoff (no server delay, as Google's rate-quota errors carry none).
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from dataclasses import dataclass

import pytest

from airflow_provider_gcp_ops.emulator.ratelimit import RateLimiter
from airflow_provider_gcp_ops.operations.pacing import AdaptivePacer, checked_rate
from airflow_provider_gcp_ops.operations.retry import DEFAULT_RETRY


@dataclass
class Run:
    duration: float
    throttled: int
    admitted_times: list[float]
    send_times: list[float]
    max_attempts: int

    def admitted_rate(self, start: float, end: float) -> float:
        return sum(start <= t < end for t in self.admitted_times) / (end - start)


def simulate(
    pacer: AdaptivePacer | None,
    *,
    quota: float,
    ops: int,
    concurrency: int = 64,
    latency: float = 0.02,
    seed: int = 1,
) -> Run:
    """Every one of ``ops`` requests until admitted; the pacer (if any) sees every answer."""
    clock = [0.0]
    bucket = RateLimiter(quota, clock=lambda: clock[0])
    rng = random.Random(seed)
    events: list[tuple[float, int, str, int]] = []  # (time, seq, kind, attempt)
    seq = 0

    def push(at: float, kind: str, attempt: int) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (at, seq, kind, attempt))

    started = min(concurrency, ops)
    for _ in range(started):
        push(0.0, "ready", 1)
    run = Run(0.0, 0, [], [], 1)
    while events:
        now, _, kind, attempt = heapq.heappop(events)
        clock[0] = now
        if kind == "ready":
            push(pacer.reserve(now) if pacer is not None else now, "send", attempt)
        elif kind == "send":
            run.send_times.append(now)
            push(now + latency, "429" if bucket.take() > 0 else "ok", attempt)
        else:
            throttled = kind == "429"
            if pacer is not None:
                pacer.observe(now, throttled=throttled)
            if throttled:
                run.throttled += 1
                run.max_attempts = max(run.max_attempts, attempt + 1)
                push(now + DEFAULT_RETRY.backoff(attempt, None, rng), "ready", attempt + 1)
            else:
                run.admitted_times.append(now)
                if started < ops:
                    started += 1
                    push(now, "ready", 1)
        run.duration = now
    return run


@pytest.mark.parametrize("quota", [20.0, 150.0, 600.0, 3000.0])
def test_a_run_converges_to_within_ten_percent_of_the_quota(quota: float) -> None:
    ops = int(quota * 20)
    run = simulate(AdaptivePacer(), quota=quota, ops=ops)
    assert len(run.admitted_times) == ops
    # After the first seconds (the quota's initial burst, the first cut), the admitted rate stays near the quota.
    steady = run.admitted_rate(3.0, run.duration - 1.0)
    assert steady >= 0.9 * quota
    # The quota-bound time: every request at exactly the quota, less the bucket's initial second.
    assert run.duration <= (ops / quota - 1.0) / 0.9


@pytest.mark.parametrize("quota", [150.0, 600.0])
def test_pacing_meets_far_fewer_429s_than_workers_backing_off_alone(quota: float) -> None:
    ops = int(quota * 20)
    paced = simulate(AdaptivePacer(), quota=quota, ops=ops)
    alone = simulate(None, quota=quota, ops=ops)
    assert paced.throttled < alone.throttled
    assert paced.duration < alone.duration
    assert paced.throttled < 0.05 * ops


def test_no_pacing_until_429s_then_a_cut_to_a_share_of_the_admitted_rate() -> None:
    pacer = AdaptivePacer(decrease=0.9, window=1.0)
    assert pacer.rate is None
    assert all(pacer.reserve(5.0) == 5.0 for _ in range(1000))  # nothing known of the quota: no wait
    for i in range(200):  # 200 admitted over the last second
        pacer.observe(5.0 + i / 200, throttled=False)
    pacer.observe(6.0, throttled=True)
    assert pacer.rate is None and pacer.cuts == 0  # a lone 429 is no trend
    pacer.observe(6.0, throttled=True)
    # 0.9 x the admitted rate, measured over the window (ten slots: the current one has just begun).
    assert 0.9 * 0.9 * 200 - 1 <= pacer.rate <= 0.9 * 200
    assert (pacer.throttled, pacer.cuts) == (2, 1)
    # Requests are now spaced by 1 / rate.
    first, second = pacer.reserve(6.0), pacer.reserve(6.0)
    assert first == 6.0 and second == pytest.approx(6.0 + 1 / pacer.rate)


def test_lone_429s_change_nothing() -> None:
    pacer = AdaptivePacer(window=1.0)
    for k in range(10):  # one 429 every two seconds among many admitted requests
        for i in range(100):
            pacer.observe(2 * k + i / 50, throttled=False)
        pacer.observe(2 * k + 1.99, throttled=True)
    assert (pacer.throttled, pacer.cuts, pacer.rate) == (10, 0, None)


def test_at_most_one_cut_per_window_then_another_after_it() -> None:
    pacer = AdaptivePacer(window=1.0)
    for i in range(100):
        pacer.observe(i / 100, throttled=False)
    pacer.observe(1.0, throttled=True)
    pacer.observe(1.0, throttled=True)
    after_first = pacer.rate
    assert after_first is not None
    for k in range(50):  # answers to requests sent before the cut
        pacer.observe(1.0 + k / 100, throttled=True)
    assert pacer.rate == after_first and pacer.cuts == 1 and pacer.throttled == 52
    pacer.observe(2.1, throttled=True)  # nothing admitted in the last second: the rate halves
    assert pacer.cuts == 2
    assert pacer.rate == pytest.approx(after_first / 2)


def _flow(pacer: AdaptivePacer, start: float, until: float) -> float:
    """Requests sent as fast as the pacer admits, each admitted at once; the time of the last."""
    t = pacer.reserve(start)
    while t < until:
        pacer.observe(t, throttled=False)
        t = pacer.reserve(t)
    return t


def test_additive_increase_after_a_cut_then_faster_without_429s_never_past_the_cap() -> None:
    pacer = AdaptivePacer(increase=0.05, window=1.0, max_rate=400)
    pacer.rate = None  # as if unknown: the test drives the first cut
    for i in range(100):
        pacer.observe(i / 100, throttled=False)
    pacer.observe(1.0, throttled=True)
    pacer.observe(1.0, throttled=True)
    cut = pacer.rate
    assert cut is not None and cut == pytest.approx(90, abs=10)
    _flow(pacer, 1.0, 1.99)
    assert pacer.rate == cut  # the window after a cut: answers to requests sent before it, no growth
    _flow(pacer, 2.0, 3.0)
    # Then +5 % of the peak (about 100/s) per second of flow: additive, a few requests/s.
    first = pacer.rate
    assert first is not None and 3 <= first - cut <= 7
    _flow(pacer, 3.0, 4.0)
    second = pacer.rate
    assert second is not None and 1.5 * (first - cut) <= second - first  # a window without 429: a bigger step
    _flow(pacer, 4.0, 20.0)
    assert pacer.rate == 400  # back to the ceiling within seconds, never past it


def test_the_rate_never_exceeds_the_cap_and_requests_are_spaced_by_it() -> None:
    cap = 50.0
    pacer = AdaptivePacer(max_rate=cap)
    assert pacer.rate == cap  # a known quota: paced from the first request
    rng = random.Random(3)
    t, sends = 0.0, []
    for _ in range(5000):
        t = pacer.reserve(t + rng.uniform(0, 0.01))
        sends.append(t)
        pacer.observe(t + 0.02, throttled=rng.random() < 0.01)
        assert pacer.rate is not None and pacer.min_rate <= pacer.rate <= cap
    gaps = [b - a for a, b in itertools.pairwise(sends)]
    assert min(gaps) >= 1 / cap - 1e-9
    # In any one second, at most cap (+1 for the boundary) requests.
    assert max(sum(1 for s in sends if w <= s < w + 1) for w in range(int(sends[-1]))) <= cap + 1


def test_the_rate_is_bounded_below_and_waits_are_bounded() -> None:
    pacer = AdaptivePacer(min_rate=2.0, window=1.0)
    for k in range(200):  # a quota that admits nothing for 200 windows
        pacer.observe(float(k), throttled=True)
    assert pacer.rate == 2.0
    # 64 workers queued at once: the last waits at most 64 / min_rate.
    slots = [pacer.reserve(500.0) for _ in range(64)]
    assert slots[-1] - 500.0 <= 64 / 2.0
    assert slots == sorted(slots)


def test_a_cap_below_the_floor_lowers_the_floor() -> None:
    pacer = AdaptivePacer(max_rate=0.5)
    assert pacer.min_rate == 0.5
    pacer.observe(0.0, throttled=True)
    assert pacer.rate == 0.5


def test_the_window_keeps_constant_memory_and_forgets_old_admissions() -> None:
    pacer = AdaptivePacer(window=1.0)
    for i in range(100_000):
        pacer.observe(i / 10_000, throttled=False)  # 10,000/s for 10 s
    assert pacer.admitted_rate(10.0) == pytest.approx(10_000, rel=0.11)
    assert pacer.admitted_rate(11.5) == 0.0
    assert len(pacer._counts) == 10


@pytest.mark.parametrize("value", [0, -1, math.inf, math.nan, True, "600", [600]])
def test_a_bad_rate_is_a_clear_error(value: object) -> None:
    with pytest.raises(ValueError, match="requests per second"):
        checked_rate(value)
    with pytest.raises(ValueError, match="max_rate"):
        AdaptivePacer(max_rate=value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"decrease": 1.0}, "decrease"),
        ({"decrease": 0}, "decrease"),
        ({"increase": 0}, "increase"),
        ({"window": 0}, "window"),
        ({"min_rate": 0}, "min_rate"),
    ],
)
def test_bad_settings_are_clear_errors(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        AdaptivePacer(**kwargs)


def test_summary_is_json_safe_counts() -> None:
    pacer = AdaptivePacer(max_rate=10)
    pacer.observe(0.0, throttled=False)
    pacer.observe(0.1, throttled=True)
    pacer.observe(0.2, throttled=True)
    assert pacer.summary() == {
        "max_requests_per_second": 10.0,
        "admitted": 1,
        "throttled_429": 2,
        "rate_cuts": 1,
        "final_rate_per_s": 1.0,
    }

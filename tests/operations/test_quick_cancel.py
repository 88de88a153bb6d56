"""The quick cancel is bounded as a whole: its deadline cuts every attempt's connect and read timeouts and its
retries (measured against a stalled server by ``bench/quick_cancel.py``)."""

from __future__ import annotations

from airflow_provider_gcp_ops.operations.client_base import (
    MIN_READ_TIMEOUT_S,
    QUICK_CANCEL_RETRY,
    QUICK_CANCEL_S,
    QUICK_CANCEL_TIMEOUT_S,
    QUICK_CANCEL_TIMEOUTS,
    ClientBase,
)
from airflow_provider_gcp_ops.operations.plans import Send

NAME = "projects/p/regions/us-central1/operations/o"


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def quick_cancel_send(clock: Clock) -> tuple[ClientBase, Send[None]]:
    client = ClientBase(timeouts=QUICK_CANCEL_TIMEOUTS, retry=QUICK_CANCEL_RETRY, clock=clock)
    send = next(client.cancel_plan(NAME, service="dataproc", timeout=QUICK_CANCEL_TIMEOUT_S))
    assert isinstance(send, Send)
    return client, send


def test_the_whole_call_has_a_deadline_within_the_documented_bound() -> None:
    clock = Clock()
    client, send = quick_cancel_send(clock)
    assert send.deadline == clock.t + QUICK_CANCEL_TIMEOUT_S
    # The last attempt may run MIN_READ_TIMEOUT_S past the deadline: still within QUICK_CANCEL_S.
    assert QUICK_CANCEL_TIMEOUT_S + MIN_READ_TIMEOUT_S <= QUICK_CANCEL_S
    # A transient failure early on is retried; one whose backoff would end past the deadline is not.
    from airflow_provider_gcp_ops.operations.errors import Unavailable

    exc = Unavailable("503", http_status=503)
    assert client.retry_sleep(send, exc, attempt=1, started=clock.t) is not None
    clock.t = send.deadline - 0.01  # type: ignore[operator]
    assert client.retry_sleep(send, exc, attempt=1, started=clock.t) is None  # no retry starts (or sleeps) past it


def test_a_second_attempt_gets_only_what_is_left() -> None:
    clock = Clock()
    client, send = quick_cancel_send(clock)
    assert (client.connect_timeout(send), client.read_timeout(send)) == (5.0, 10.0)  # the first attempt: in full
    clock.t += 10.5  # the first attempt timed out reading, then a backoff
    left = QUICK_CANCEL_TIMEOUT_S - 10.5
    assert client.read_timeout(send) == left and client.connect_timeout(send) == left
    clock.t += left  # at the deadline: never below the floor, never more
    assert client.read_timeout(send) == MIN_READ_TIMEOUT_S == client.connect_timeout(send)


def test_without_a_timeout_a_cancel_keeps_the_clients_own_bounds() -> None:
    client = ClientBase(clock=Clock())
    send = next(client.cancel_plan(NAME, service="dataproc"))
    assert isinstance(send, Send) and send.deadline is None
    assert client.read_timeout(send) == client.timeouts.read

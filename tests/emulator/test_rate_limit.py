"""The emulator's request quota (``rate_limit_per_s``): a token bucket answering 429 like Google's quota errors."""

from __future__ import annotations

import httpx
import pytest

from airflow_provider_gcp_ops.emulator import EmulatorAdminError, EmulatorServer
from airflow_provider_gcp_ops.emulator.ratelimit import RateLimiter

from .conftest import assert_google_error


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_bucket_admits_a_burst_of_one_second_then_refuses_until_the_next_token() -> None:
    clock = FakeClock()
    limiter = RateLimiter(4.0, clock)
    assert [limiter.take() for _ in range(4)] == [0.0] * 4
    assert limiter.take() == pytest.approx(0.25)
    clock.t += 0.1
    assert limiter.take() == pytest.approx(0.15)
    clock.t += 0.15
    assert limiter.take() == 0.0
    clock.t += 10  # refills up to one second of quota, not more
    assert [limiter.take() for _ in range(5)].count(0.0) == 4


def test_zero_rate_is_off() -> None:
    limiter = RateLimiter(0.0)
    assert not limiter.enabled
    assert all(limiter.take() == 0.0 for _ in range(1000))


def test_over_the_quota_is_429_rate_limit_exceeded_without_a_retry_delay(
    emu: EmulatorServer, client: httpx.Client
) -> None:
    """As Google's rate-quota refusals (``google/api/error_reason.proto``, RATE_LIMIT_EXCEEDED): the ErrorInfo
    names the quota; no Retry-After, no RetryInfo (an injected 429 fault still carries both)."""
    op = emu.admin.create_operation(service="dataproc", duration_s=600)["name"]
    emu.admin.configure(rate_limit_per_s=2)
    statuses = [client.get(f"/v1/{op}").status_code for _ in range(4)]
    assert statuses[:2] == [200, 200]
    refused = client.get(f"/v1/{op}")
    error = assert_google_error(refused, 429, "RESOURCE_EXHAUSTED")
    assert "retry-after" not in refused.headers
    by_type = {d["@type"]: d for d in error["details"]}
    info = by_type["type.googleapis.com/google.rpc.ErrorInfo"]
    assert info["reason"] == "RATE_LIMIT_EXCEEDED"
    assert info["metadata"]["quota_limit"] == "ReadRequestsPerMinutePerProject"
    assert "type.googleapis.com/google.rpc.RetryInfo" not in by_type
    stats = emu.admin.stats()
    assert stats["rate_limited"] == statuses.count(429) + 1
    assert stats["faults"]["total"] == 0  # a quota refusal is not a fault draw


def test_quota_applies_to_every_verb_and_resets(emu: EmulatorServer, client: httpx.Client) -> None:
    op = emu.admin.create_operation(service="dataproc", duration_s=600)["name"]
    emu.admin.configure(rate_limit_per_s=1)
    assert client.get(f"/v1/{op}").status_code == 200
    assert client.post(f"/v1/{op}:cancel").status_code == 429
    assert client.get("/v1/projects/demo-project/regions/us-central1/operations").status_code == 429
    assert emu.admin.config()["rate_limit_per_s"] == 1.0
    emu.admin.reset()
    op = emu.admin.create_operation(service="dataproc", duration_s=600)["name"]
    assert all(client.get(f"/v1/{op}").status_code == 200 for _ in range(20))


@pytest.mark.parametrize("value", [-1, "fast", True, 2e6])
def test_bad_rate_is_400(emu: EmulatorServer, value: object) -> None:
    with pytest.raises(EmulatorAdminError) as info:
        emu.admin.configure(rate_limit_per_s=value)
    assert info.value.status == 400

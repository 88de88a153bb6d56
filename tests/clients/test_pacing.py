"""The async client with a pacer, over real HTTP against the emulator's request quota (429 RESOURCE_EXHAUSTED).

The emulator counts what it refused: paced, the same bulk job meets far fewer 429s than with every request
backing off alone, and every request still succeeds. No timing assertion (speed is ``bench/``'s).
"""

from __future__ import annotations

import asyncio

from airflow_provider_gcp_ops.emulator import EmulatorServer
from airflow_provider_gcp_ops.operations.async_client import AsyncOperationsClient
from airflow_provider_gcp_ops.operations.pacing import AdaptivePacer
from airflow_provider_gcp_ops.operations.retry import RetryPolicy

from .conftest import settings_for

# Bounded as in production (ten attempts), with shorter backoffs so the unpaced run ends soon too.
RETRY = RetryPolicy(max_attempts=10, initial_backoff=0.25, max_backoff=1.0, deadline=60.0)


async def _delete_all(emu: EmulatorServer, names: list[str], pacer: AdaptivePacer | None) -> list[BaseException]:
    gate = asyncio.Semaphore(16)
    failures: list[BaseException] = []

    async def one(client: AsyncOperationsClient, name: str) -> None:
        async with gate:
            try:
                await client.delete(name, service="dataproc")
            except Exception as exc:
                failures.append(exc)

    async with AsyncOperationsClient(pacer=pacer, **settings_for(emu, retry=RETRY)) as client:
        await asyncio.gather(*(one(client, n) for n in names))
    return failures


def _seed(emu: EmulatorServer, project: str, n: int) -> list[str]:
    return [str(emu.admin.create_operation(service="dataproc", project=project, done=True)["name"]) for _ in range(n)]


def test_a_paced_bulk_job_meets_fewer_429s_than_requests_backing_off_alone(emu: EmulatorServer) -> None:
    alone_names, paced_names = _seed(emu, "alone", 150), _seed(emu, "paced", 150)
    emu.admin.configure(latency_s=0.01, rate_limit_per_s=50)

    failures = asyncio.run(_delete_all(emu, alone_names, None))
    alone_429 = emu.admin.stats()["rate_limited"]
    assert alone_429 > 0  # the quota bites
    assert not failures

    emu.admin.configure(rate_limit_per_s=0)  # a fresh, full bucket for the paced run
    emu.admin.configure(rate_limit_per_s=50)
    pacer = AdaptivePacer()
    failures = asyncio.run(_delete_all(emu, paced_names, pacer))
    stats = emu.admin.stats()
    paced_429 = stats["rate_limited"] - alone_429
    assert not failures
    assert stats["operations_deleted"] == 300
    assert paced_429 < alone_429
    # The pacer heard every answer: each 429 the emulator sent, and every delete it admitted.
    assert (pacer.throttled, pacer.admitted) == (paced_429, 150)
    assert pacer.cuts >= 1 and pacer.rate is not None and pacer.rate < 50


def test_a_cap_under_the_quota_meets_no_429(emu: EmulatorServer) -> None:
    names = _seed(emu, "capped", 60)
    emu.admin.configure(rate_limit_per_s=40)
    pacer = AdaptivePacer(max_rate=30)
    assert not asyncio.run(_delete_all(emu, names, pacer))
    assert emu.admin.stats()["rate_limited"] == 0
    assert (pacer.admitted, pacer.throttled, pacer.rate) == (60, 0, 30.0)

"""What the triggers on one event loop share: one connection look-up per TTL, one token per identity.

Real connections from the environment, Airflow's real ``aget_connection`` (counted, not replaced), real google-auth
refreshes against the emulator's token endpoint; only the monotonic clock of the cache is moved.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from airflow_provider_gcp_ops._compat import AirflowNotFoundException
from airflow_provider_gcp_ops.emulator import EmulatorServer
from airflow_provider_gcp_ops.emulator.oauth import service_account_key
from airflow_provider_gcp_ops.hooks import loop_shared
from airflow_provider_gcp_ops.hooks.operations import GoogleOperationsHook
from airflow_provider_gcp_ops.operations.auth import CredentialsTokenSource
from airflow_provider_gcp_ops.triggers.events import OperationEvent
from airflow_provider_gcp_ops.triggers.operation import OperationTrigger


def _json_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, extra: dict[str, Any]) -> None:
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "google_cloud_platform", "extra": extra})
    )


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every ``aget_connection`` the hook makes (Airflow's own method still answers)."""
    calls: list[str] = []
    real = GoogleOperationsHook.aget_connection.__func__  # type: ignore[attr-defined]

    async def counting(cls: type, conn_id: str) -> Any:
        calls.append(conn_id)
        return await real(cls, conn_id)

    monkeypatch.setattr(GoogleOperationsHook, "aget_connection", classmethod(counting))
    return calls


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(loop_shared, "clock", lambda: now[0])
    return now


@pytest.fixture(autouse=True)
def _no_env_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GCP_OPERATIONS_EMULATOR_HOST", raising=False)


async def test_triggers_starting_together_make_one_lookup(monkeypatch: pytest.MonkeyPatch, lookups: list[str]) -> None:
    _json_conn(monkeypatch, "shared", {"project": "proj-one"})
    hooks = [GoogleOperationsHook(gcp_conn_id="shared") for _ in range(200)]
    settings = await asyncio.gather(*(hook.aget_settings() for hook in hooks))
    assert lookups == ["shared"]
    assert {s.project for s in settings} == {"proj-one"}
    # A different impersonation chain is another entry (the chain is part of the settings), still one look-up.
    chained = GoogleOperationsHook(gcp_conn_id="shared", impersonation_chain=["sa@proj-one.iam.gserviceaccount.com"])
    assert (await chained.aget_settings()).impersonation_chain == ("sa@proj-one.iam.gserviceaccount.com",)
    assert lookups == ["shared", "shared"]


async def test_an_edited_connection_is_picked_up_after_the_ttl(
    monkeypatch: pytest.MonkeyPatch, lookups: list[str], clock: list[float]
) -> None:
    _json_conn(monkeypatch, "edited", {"project": "before-edit"})
    assert (await GoogleOperationsHook(gcp_conn_id="edited").aget_settings()).project == "before-edit"
    _json_conn(monkeypatch, "edited", {"project": "after-edit"})
    clock[0] += loop_shared.CONNECTION_TTL_S - 1
    assert (await GoogleOperationsHook(gcp_conn_id="edited").aget_settings()).project == "before-edit"
    clock[0] += 1
    assert (await GoogleOperationsHook(gcp_conn_id="edited").aget_settings()).project == "after-edit"
    assert lookups == ["edited", "edited"]


async def test_a_failed_lookup_is_not_kept(monkeypatch: pytest.MonkeyPatch, lookups: list[str]) -> None:
    hooks = [GoogleOperationsHook(gcp_conn_id="not_yet") for _ in range(5)]
    results = await asyncio.gather(*(hook.aget_settings() for hook in hooks), return_exceptions=True)
    assert all(isinstance(r, AirflowNotFoundException) for r in results)
    assert len({id(r) for r in results}) == 5  # each caller its own error, never one shared exception object
    _json_conn(monkeypatch, "not_yet", {"project": "created-now"})
    assert (await GoogleOperationsHook(gcp_conn_id="not_yet").aget_settings()).project == "created-now"


async def test_a_cancelled_waiter_does_not_cancel_the_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    _json_conn(monkeypatch, "slow", {"project": "proj-slow"})
    release = asyncio.Event()
    real = GoogleOperationsHook.aget_connection.__func__  # type: ignore[attr-defined]

    async def slow(cls: type, conn_id: str) -> Any:
        await release.wait()
        return await real(cls, conn_id)

    monkeypatch.setattr(GoogleOperationsHook, "aget_connection", classmethod(slow))
    first = asyncio.ensure_future(GoogleOperationsHook(gcp_conn_id="slow").aget_settings())
    second = asyncio.ensure_future(GoogleOperationsHook(gcp_conn_id="slow").aget_settings())
    await asyncio.sleep(0.01)
    first.cancel()
    release.set()
    assert (await second).project == "proj-slow"
    assert first.cancelled()


async def _tokens(hook: GoogleOperationsHook) -> Any:
    async with hook.async_client() as client:
        return client._tokens


async def test_identities_never_share_credentials(
    monkeypatch: pytest.MonkeyPatch, gcp_ops_emulator: EmulatorServer
) -> None:
    key = service_account_key(gcp_ops_emulator.url, name="alpha")
    other_key = service_account_key(gcp_ops_emulator.url, name="beta")
    monkeypatch.setenv("GCP_OPERATIONS_EMULATOR_HOST", gcp_ops_emulator.host)
    _json_conn(monkeypatch, "conn_a", {"keyfile_dict": key})
    _json_conn(monkeypatch, "conn_a_twin", {"keyfile_dict": key})  # same extras, another connection id
    _json_conn(monkeypatch, "conn_b", {"keyfile_dict": other_key})
    chain = ["target@emulator.iam.gserviceaccount.com"]

    same = await asyncio.gather(*(_tokens(GoogleOperationsHook(gcp_conn_id="conn_a")) for _ in range(20)))
    assert len({id(t) for t in same}) == 1 and isinstance(same[0], CredentialsTokenSource)
    others = [
        await _tokens(GoogleOperationsHook(gcp_conn_id="conn_a_twin")),
        await _tokens(GoogleOperationsHook(gcp_conn_id="conn_b")),
        await _tokens(GoogleOperationsHook(gcp_conn_id="conn_a", impersonation_chain=chain)),
    ]
    assert len({id(t) for t in [same[0], *others]}) == 4
    emails = [t._credentials.service_account_email for t in (same[0], others[0], others[1])]
    assert emails == ["alpha@emulator.iam.gserviceaccount.com"] * 2 + ["beta@emulator.iam.gserviceaccount.com"]
    assert others[2]._credentials._target_principal == chain[0]
    # An edited key (same connection id) is another identity once the edit is seen: never the old credentials.
    _json_conn(monkeypatch, "conn_b", {"keyfile_dict": key})
    loop_shared.on_this_loop().settings._entries.clear()  # the edit seen (as after the TTL)
    edited = await _tokens(GoogleOperationsHook(gcp_conn_id="conn_b"))
    assert edited is not others[1] and edited._credentials.service_account_email.startswith("alpha@")


async def test_n_triggers_of_one_key_make_one_token_request(
    monkeypatch: pytest.MonkeyPatch, gcp_ops_emulator: EmulatorServer
) -> None:
    """Without the sharing, each trigger's credentials refreshed their own token: N requests to the token endpoint
    (Google's, in production)."""
    monkeypatch.setenv("GCP_OPERATIONS_EMULATOR_HOST", gcp_ops_emulator.host)
    _json_conn(monkeypatch, "google_cloud_default", {"keyfile_dict": service_account_key(gcp_ops_emulator.url)})
    ops = [gcp_ops_emulator.admin.create_operation(service="dataproc", duration_s=0.3) for _ in range(50)]
    builds: list[int] = []  # credentials built (each in a worker thread): once, not once per trigger
    real_build = GoogleOperationsHook._credentials

    def counting_build(settings: Any, options: dict[str, Any]) -> Any:
        builds.append(1)
        return real_build(settings, options)

    monkeypatch.setattr(GoogleOperationsHook, "_credentials", staticmethod(counting_build))

    async def run(name: str) -> OperationEvent:
        trigger = OperationTrigger(
            operation_name=name, service="dataproc", api_version="v1", poll_interval=0.05, poll_max=0.2
        )
        events = [e async for e in trigger.run()]
        assert len(events) == 1
        return OperationEvent.from_payload(events[0].payload)

    events = await asyncio.gather(*(run(op["name"]) for op in ops))
    assert [(e.status, e.state) for e in events] == [("done", "succeeded")] * 50
    stats = gcp_ops_emulator.admin.stats()["requests"]
    assert stats["token"] == 1
    assert builds == [1]
    assert stats["get"] >= 50

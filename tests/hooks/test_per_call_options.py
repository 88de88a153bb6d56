"""Per-call bounds through one hook: a quick cancel, a start's retry rule and a wait's poll schedule apply to that
call only, on the hook's one client and session (no second client, no second set of credentials)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_gcp_ops.hooks.operations import GoogleOperationsHook
from airflow_provider_gcp_ops.operations.client_base import QUICK_CANCEL_RETRY, QUICK_CANCEL_TIMEOUTS
from airflow_provider_gcp_ops.operations.methods import StartRetryPolicy
from airflow_provider_gcp_ops.operations.polling import PollSchedule
from airflow_provider_gcp_ops.operations.retry import DEFAULT_RETRY
from airflow_provider_gcp_ops.operations.sync_client import OperationsClient


def test_with_options_shares_the_session_and_leaves_the_client_as_it_was(gcp_ops_emulator: Any) -> None:
    client = OperationsClient(emulator_host=gcp_ops_emulator.host)
    view = client.with_options(timeouts=QUICK_CANCEL_TIMEOUTS, retry=QUICK_CANCEL_RETRY)
    assert view._session is client._session
    assert (view.timeouts, view.retry, view.poll) == (QUICK_CANCEL_TIMEOUTS, QUICK_CANCEL_RETRY, client.poll)
    assert (client.timeouts, client.retry) != (QUICK_CANCEL_TIMEOUTS, QUICK_CANCEL_RETRY)
    op = gcp_ops_emulator.admin.create_operation(service="dataproc", done=True)
    view.close()  # a view never closes the session it borrows
    assert client.get(op["name"], service="dataproc").done


def test_the_hooks_verbs_pass_their_bounds_to_one_client(
    gcp_ops_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = GoogleOperationsHook(emulator_host=gcp_ops_emulator.host)
    client = hook.get_conn()
    seen: list[tuple[Any, Any, Any]] = []
    original = OperationsClient._run

    def run(self: OperationsClient, plan: Any) -> Any:
        assert self._session is client._session
        seen.append((self.timeouts, self.retry, self.poll))
        return original(self, plan)

    monkeypatch.setattr(OperationsClient, "_run", run)
    running = gcp_ops_emulator.admin.create_operation(service="dataproc", duration_s=0.5)
    hook.quick_cancel(running["name"], service="dataproc")
    assert seen.pop() == (QUICK_CANCEL_TIMEOUTS, QUICK_CANCEL_RETRY, client.poll)
    hook.start_operation("POST", "v1/projects/p/regions/us-central1/clusters", service="dataproc", body={})
    timeouts, retry, _ = seen.pop()
    assert isinstance(retry, StartRetryPolicy) and timeouts == client.timeouts  # not idempotent: the start's rule
    other = gcp_ops_emulator.admin.create_operation(service="dataproc", duration_s=0.3)
    fast = PollSchedule(initial=0.05, maximum=0.1)
    assert hook.wait_for_operation(other["name"], service="dataproc", timeout=10, poll=fast).done
    assert seen.pop()[2] == fast
    assert hook.get_operation(other["name"], service="dataproc").done
    assert seen.pop() == (client.timeouts, DEFAULT_RETRY, client.poll)  # the client's own bounds again

"""The one place that decides whether a stopped trigger cancels its remote operation.

Pure: no Airflow import, no I/O. The trigger gathers the facts (the task instance's state as Airflow's
task-states API reports it, and, only when that state is ``deferred``, whether the task's current try recorded
another operation) and acts on the :class:`KillDecision`.

Before Airflow 3.3 a trigger has no ``on_kill``: ``asyncio.CancelledError`` in ``run()`` is the only signal, and it
also fires when the triggerer restarts or rebalances. The rules, in order:

1. ``cancel_on_kill=False``: never.
2. The cancel carries Airflow 3.3's user-action message: the triggerer calls ``on_kill`` for it; not here.
3. The state could not be looked up (error, timeout, no task instance): **unknown**, never a cancel.
4. ``deferred``: a restart, nothing to do; unless the task's current try recorded another operation (it was
   cleared, re-ran and deferred again on a new operation before this trigger was stopped): cancel.
5. Any other *known* state, including none at all (a cleared task has state ``None``): the task no longer waits
   for this trigger, cancel. As the google provider's triggers do (``safe_to_cancel``: ``state != DEFERRED``).

Airflow 3.3 calls the trigger's ``on_kill`` after a user marks the deferred task failed / success or clears it, but
also when the trigger is taken from this triggerer because another one now owns it (``update_triggers`` in
``airflow/jobs/triggerer_job_runner.py`` cancels every trigger no longer assigned here with the user-action
message; seen when a triggerer's heartbeat went stale under load and a peer adopted its triggers). So
:func:`decide_on_kill`:

1. ``cancel_on_kill=False``: never.
2. ``deferred`` on this very operation: a hand-over, nothing to do (cleared and re-deferred on another one: cancel).
3. Resuming on a worker (scheduled, queued, running) after the task's deadline: the other copy of this trigger
   fired the timeout event and ``execute_complete`` sends the cancel.
4. Anything else (failed, success, cleared, or unknown: ``on_kill`` is first of all a user's kill): cancel.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

DEFERRED: Final = "deferred"
RESUMING: Final = frozenset({"scheduled", "queued", "running"})  # after a trigger event, the task resumes on a worker
USER_ACTION_CANCEL_MSG: Final = "__airflow_user_action__"  # airflow.jobs.triggerer_job_runner._USER_ACTION_CANCEL_MSG


class Unknown(enum.Enum):
    """The task instance's state could not be looked up (distinct from a known state of ``None``)."""

    STATE = "unknown"


UNKNOWN: Final = Unknown.STATE
TaskState = str | None | Unknown  # str: lower-case Airflow state; None: known, no state (cleared); UNKNOWN


@dataclass(frozen=True)
class KillDecision:
    cancel: bool
    reason: str


def state_key(task_id: str, map_index: int | None) -> str:
    """The key of a task instance in Airflow's task-states answer (``get_task_states``).

    ``f"{task_id}_{map_index}"`` for a mapped task instance (``map_index >= 0``), the bare ``task_id`` otherwise
    (Airflow's ``api_fastapi/execution_api/routes/task_instances.py``, ``get_task_states``, 3.1 to 3.3).
    """
    return f"{task_id}_{map_index}" if map_index is not None and map_index >= 0 else task_id


def needs_rerun_check(state: TaskState) -> bool:
    """Whether the decision needs to know if the current try watches another operation (rule 4)."""
    return state == DEFERRED


def decide_on_stop(
    *,
    cancel_on_kill: bool,
    user_action: bool,
    state: TaskState,
    rerun_watches_another: bool = False,
) -> KillDecision:
    """What a trigger stopped by ``CancelledError`` does with its operation (the rules in the module docstring)."""
    if not cancel_on_kill:
        return KillDecision(False, "cancel_on_kill is False")
    if user_action:
        return KillDecision(False, "a user action: Airflow >= 3.3 calls the trigger's on_kill for it")
    if state is UNKNOWN:
        return KillDecision(False, "the task's state is unknown (lookup failed): never a cancel on doubt")
    if state == DEFERRED:
        if rerun_watches_another:
            return KillDecision(True, "the task was cleared and its new try waits for another operation")
        return KillDecision(False, "the task is still deferred (a triggerer restart or rebalance)")
    if state is None:
        return KillDecision(True, "the task was cleared while the trigger waited (it has no state)")
    return KillDecision(True, f"the task left the deferred state ({state}) while the trigger waited")


def decide_on_kill(
    *,
    cancel_on_kill: bool,
    state: TaskState,
    rerun_watches_another: bool = False,
    past_deadline: bool = False,
) -> KillDecision:
    """What a trigger does in Airflow 3.3's ``on_kill`` (the second list in the module docstring)."""
    if not cancel_on_kill:
        return KillDecision(False, "cancel_on_kill is False")
    if state == DEFERRED:
        if rerun_watches_another:
            return KillDecision(True, "the task was cleared and its new try waits for another operation")
        return KillDecision(False, "the task is still deferred on this operation: another triggerer took it over")
    if isinstance(state, str) and state in RESUMING and past_deadline:
        return KillDecision(False, f"the task resumes after its deadline ({state}): its timeout path cancels")
    return KillDecision(True, "the deferred task was killed by a user action")


__all__ = [
    "DEFERRED",
    "RESUMING",
    "UNKNOWN",
    "USER_ACTION_CANCEL_MSG",
    "KillDecision",
    "TaskState",
    "Unknown",
    "decide_on_kill",
    "decide_on_stop",
    "needs_rerun_check",
    "state_key",
]

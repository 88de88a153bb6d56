"""Chaos: cancels and waits through the operators' real paths while the emulator fails 30 % of requests.

``make chaos`` (this file) runs the full version against the emulator CLI in another process;
``tests/chaos/`` runs a small one (50 operations, about 10 s) in the normal test suite with the same code.

Phase 1, cancels and waits under faults. N operations (default 1,000): 70 % long-running and cancellable (to be
cancelled), 30 % only watched (finishing on their own within 5-30 s, 80 % succeeding, 20 % failing). Every
Google-route request draws one fault with probability ~30 % in total, spread evenly over 429 (with
``Retry-After``), 500, 503, connection reset, and a stall longer than the run's read timeout (1 s here, 3 s
stall). Each operation goes through the production code path of an Airflow task:

- to cancel: ``CancelOperationOperator(deferrable=True).execute()`` in a worker thread (GET, ``:cancel``, then
  ``TaskDeferred``), the deferred ``OperationTrigger.run()`` in one asyncio loop (as the triggerer, started as
  soon as the task defers), then ``execute_complete(event)`` in a worker thread; expected outcome ``cancelled``.
- to watch: ``OperationSensor(deferrable=True, target="done")`` the same way; expected: the operation's real end
  state, and never a cancel.

Checked: every task ends with its correct outcome (no task-level failure from a transient fault); from the
emulator's per-operation history, every operation to cancel received at least one cancel that the server
accepted (200) -- "arrived" means accepted at least once: a cancel retried after a stall or a reset can
legitimately arrive twice, it is idempotent, so duplicates are counted and reported, not failed -- and no
operation that was only watched received any cancel request at all; every operation ends in the right state.

Phase 2, deadlines against a stalled server. Every request for a set of operations stalls for 30 s. Callers
with deadlines 1-4 s from now: the sync client's ``wait(timeout=)``, the async client's ``wait(deadline=)`` and
``OperationTrigger(deadline=)``. Measured: how far past its deadline each caller returned (max overshoot);
target: none hangs (overshoot well under one read timeout; the clients never use a read timeout below 0.5 s).

    python bench/chaos.py [--ops 1000] [--fault-rate 0.3] [--read-timeout 1.0]

Writes ``bench/results/chaos.json``; exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import functools
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
KINDS = ("429", "500", "503", "reset", "stall")
SERVICE = "dataproc"
STALL_PROJECT = "chaos-stall"
MAX_OVERSHOOT_S = 1.0  # a caller back within 1 s of its deadline never hung (the read-timeout floor is 0.5 s)


# -- set-up ------------------------------------------------------------------------------------------------------


def fault_rules(rate: float, read_timeout: float, kinds: tuple[str, ...] = KINDS) -> list[dict[str, Any]]:
    """One rule per kind on every route; rules draw in order, so each gets p with 1 - (1 - p)^k = rate."""
    p = 1 - (1 - rate) ** (1 / len(kinds))
    rules = []
    for kind in kinds:
        rule: dict[str, Any] = {"route": "*", "kind": kind, "probability": round(p, 6)}
        if kind == "429":
            rule["retry_after_s"] = 0.5
        if kind == "stall":
            rule["stall_s"] = round(3 * read_timeout, 3)
        rules.append(rule)
    return rules


@dataclass(frozen=True)
class Plan:
    """The operations of phase 1: ``to_cancel`` names, and ``to_watch`` names with their expected end state."""

    to_cancel: list[str]
    to_watch: dict[str, str]


def create_plan(
    n: int,
    seed: int,
    create: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
    watch_s: tuple[float, float] = (5.0, 30.0),
) -> Plan:
    rng = random.Random(seed)
    specs: list[dict[str, Any]] = []
    expected: list[str | None] = []
    for i in range(n):
        if i % 10 < 7:
            specs.append({"service": SERVICE, "project": "chaos", "duration_s": 7200, "cancel_delay_s": 0.5})
            expected.append(None)
        else:
            fails = rng.random() < 0.2
            spec: dict[str, Any] = {
                "service": SERVICE,
                "project": "chaos",
                "duration_s": round(rng.uniform(*watch_s), 2),
            }
            if fails:
                spec["outcome"] = {"error": {"code": 9, "message": "the cluster could not be created"}}
            specs.append(spec)
            expected.append("failed" if fails else "succeeded")
    created = create(specs)
    to_cancel = [op["name"] for op, exp in zip(created, expected, strict=True) if exp is None]
    to_watch = {op["name"]: exp for op, exp in zip(created, expected, strict=True) if exp is not None}
    return Plan(to_cancel, to_watch)


@contextlib.contextmanager
def short_timeouts(read_s: float, connect_s: float = 2.0) -> Iterator[None]:
    """Every hook built without explicit timeouts uses ``read_s`` (the operators have no parameter for it)."""
    from airflow_provider_gcp_ops.hooks.operations import GoogleOperationsHook
    from airflow_provider_gcp_ops.operations.client_base import Timeouts

    original = GoogleOperationsHook._client_settings

    def patched(self: Any, settings: Any) -> dict[str, Any]:
        options: dict[str, Any] = original(self, settings)
        if options["timeouts"] is None:
            options["timeouts"] = Timeouts(connect=connect_s, read=read_s)
        return options

    GoogleOperationsHook._client_settings = patched  # type: ignore[method-assign]
    try:
        yield
    finally:
        GoogleOperationsHook._client_settings = original  # type: ignore[method-assign]


@contextlib.contextmanager
def outside_task_runner() -> Iterator[None]:
    """Call ``execute()`` directly, as Airflow's own tests do (no 'outside of the Task Runner' warning)."""
    from airflow.sdk.bases.operator import ExecutorSafeguard

    before = ExecutorSafeguard.test_mode
    ExecutorSafeguard.test_mode = True
    try:
        yield
    finally:
        ExecutorSafeguard.test_mode = before


# -- phase 1 -----------------------------------------------------------------------------------------------------


@dataclass
class TaskResult:
    name: str
    kind: str  # "cancel" | "watch"
    outcome: str | None = None  # the operator's outcome / the sensor's state
    state: str | None = None
    error: str | None = None
    deferred: bool = False
    seconds: float = 0.0


@dataclass
class Phase1:
    results: list[TaskResult] = field(default_factory=list)
    seconds: float = 0.0


def run_tasks(plan: Plan, *, poll_interval: float, threads: int, seed: int = 0) -> Phase1:
    """Every operation through its task's real path: execute in a worker thread, the trigger in this loop."""
    from airflow_provider_gcp_ops._compat import TaskDeferred
    from airflow_provider_gcp_ops.operators.cancel import CancelOperationOperator
    from airflow_provider_gcp_ops.sensors.operation import OperationSensor

    def task_for(name: str, kind: str) -> Any:
        task_id = f"{kind}_{name.rsplit('/', 1)[-1]}"
        if kind == "cancel":
            return CancelOperationOperator(
                task_id=task_id, operation_name=name, service=SERVICE, deferrable=True, poll_interval=poll_interval
            )
        return OperationSensor(
            task_id=task_id,
            operation_name=name,
            service=SERVICE,
            deferrable=True,
            target="done",
            poke_interval=poll_interval,
        )

    async def one(pool: concurrent.futures.Executor, name: str, kind: str) -> TaskResult:
        loop = asyncio.get_running_loop()
        result = TaskResult(name, kind)
        started = time.monotonic()
        task = task_for(name, kind)
        context: dict[str, Any] = {}
        try:
            try:
                value = await loop.run_in_executor(pool, task.execute, context)
            except TaskDeferred as deferred:
                result.deferred = True
                events = [e.payload async for e in deferred.trigger.run()]
                if len(events) != 1:
                    raise RuntimeError(f"the trigger yielded {len(events)} events") from None
                resume = functools.partial(getattr(task, deferred.method_name), context, event=events[0])
                value = await loop.run_in_executor(pool, resume)
            result.outcome = value.get("outcome") or value.get("state")
            result.state = value.get("state")
        except Exception as exc:
            result.error = f"{type(exc).__name__}: {exc}"
        result.seconds = time.monotonic() - started
        return result

    async def main() -> Phase1:
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="worker") as pool:
            # Interleaved, so watches start early (their operations still run) as well as cancels.
            work = [(n, "cancel") for n in plan.to_cancel] + [(n, "watch") for n in plan.to_watch]
            random.Random(seed).shuffle(work)
            results = await asyncio.gather(*(one(pool, n, kind) for n, kind in work))
        return Phase1(list(results), time.monotonic() - started)

    return asyncio.run(main())


def check_phase1(plan: Plan, phase: Phase1, history: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """Outcomes from the tasks, cancels and end states from the emulator's per-operation history."""
    wrong: list[dict[str, Any]] = []
    for r in phase.results:
        expected = "cancelled" if r.kind == "cancel" else plan.to_watch[r.name]
        if r.error is not None or r.outcome != expected:
            seen = [f"{q['verb']} {q.get('fault') or q['status']}" for q in history(r.name)["requests"]]
            wrong.append(
                {
                    "name": r.name,
                    "kind": r.kind,
                    "expected": expected,
                    "got": r.outcome,
                    "error": r.error,
                    "server_saw": seen,
                }
            )
    lost = unexpected = duplicates = 0
    wrong_state: list[str] = []
    accepted_per_cancel: Counter[int] = Counter()
    for name in plan.to_cancel:
        h = history(name)
        accepted = sum(1 for q in h["requests"] if q["verb"] == "cancel" and q["status"] == 200)
        accepted_per_cancel[accepted] += 1
        lost += accepted == 0
        duplicates += accepted > 1
        if h["state"] != "CANCELLED":
            wrong_state.append(name)
    for name, exp in plan.to_watch.items():
        h = history(name)
        unexpected += sum(1 for q in h["requests"] if q["verb"] == "cancel")
        if h["state"] != exp.upper():
            wrong_state.append(name)
    return {
        "tasks": len(phase.results),
        "deferred": sum(r.deferred for r in phase.results),
        "wrong_outcomes": len(wrong),
        "wrong_examples": wrong[:5],
        "cancels_lost": lost,
        "cancels_unexpected": unexpected,
        "operations_with_duplicate_cancels": duplicates,
        "accepted_cancels_per_operation": dict(sorted(accepted_per_cancel.items())),
        "wrong_end_states": len(wrong_state),
        "task_seconds_max": round(max((r.seconds for r in phase.results), default=0.0), 2),
        "ok": not wrong and not lost and not unexpected and not wrong_state,
    }


# -- phase 2 -----------------------------------------------------------------------------------------------------


def stall_rules(stall_s: float) -> list[dict[str, Any]]:
    return [{"route": "*", "kind": "stall", "stall_s": stall_s, "match": f"/projects/{STALL_PROJECT}/"}]


def deadlines_against_stalls(
    names: list[str], *, seed: int, budget_s: tuple[float, float] = (1.0, 4.0)
) -> dict[str, Any]:
    """Sync waits, async waits and triggers with deadlines on operations whose every request stalls."""
    from airflow_provider_gcp_ops.operations.async_client import AsyncOperationsClient
    from airflow_provider_gcp_ops.operations.sync_client import OperationsClient
    from airflow_provider_gcp_ops.triggers.operation import OperationTrigger

    rng = random.Random(seed)
    thirds = [names[i::3] for i in range(3)]
    rows: list[dict[str, Any]] = []

    def record(kind: str, budget: float, started: float, outcome: str) -> None:
        elapsed = time.monotonic() - started
        rows.append(
            {
                "caller": kind,
                "deadline_s": round(budget, 2),
                "elapsed_s": round(elapsed, 3),
                "overshoot_s": round(elapsed - budget, 3),
                "outcome": outcome,
            }
        )

    def sync_wait(name: str, budget: float) -> None:
        started = time.monotonic()
        try:
            with OperationsClient() as client:
                client.wait(name, service=SERVICE, timeout=budget, use_server_wait=False)
            outcome = "returned"
        except Exception as exc:
            outcome = type(exc).__name__
        record("sync client wait(timeout=)", budget, started, outcome)

    async def async_wait(name: str, budget: float) -> None:
        started = time.monotonic()
        try:
            async with AsyncOperationsClient() as client:
                await client.wait(name, service=SERVICE, deadline=started + budget, use_server_wait=False)
            outcome = "returned"
        except Exception as exc:
            outcome = type(exc).__name__
        record("async client wait(deadline=)", budget, started, outcome)

    async def trigger(name: str, budget: float) -> None:
        started = time.monotonic()
        t = OperationTrigger(
            operation_name=name,
            service=SERVICE,
            api_version="v1",
            deadline=time.time() + budget,
            poll_interval=0.5,
            poll_max=2.0,
        )
        events = [e.payload async for e in t.run()]
        record("OperationTrigger(deadline=)", budget, started, events[0].get("status", "?") if events else "none")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with concurrent.futures.ThreadPoolExecutor(len(thirds[0]) or 1) as pool:
            jobs: list[Any] = [loop.run_in_executor(pool, sync_wait, n, rng.uniform(*budget_s)) for n in thirds[0]]
            jobs += [async_wait(n, rng.uniform(*budget_s)) for n in thirds[1]]
            jobs += [trigger(n, rng.uniform(*budget_s)) for n in thirds[2]]
            await asyncio.gather(*jobs)

    asyncio.run(main())
    worst = max(rows, key=lambda r: r["overshoot_s"])
    by_caller: dict[str, float] = {}
    for r in rows:
        by_caller[r["caller"]] = max(by_caller.get(r["caller"], -1e9), r["overshoot_s"])
    return {
        "callers": len(rows),
        "max_overshoot_s": worst["overshoot_s"],
        "max_overshoot_by_caller_s": by_caller,
        "outcomes": dict(Counter(f"{r['caller']}: {r['outcome']}" for r in rows)),
        "worst": worst,
        "ok": worst["overshoot_s"] <= MAX_OVERSHOOT_S,
    }


# -- the run -----------------------------------------------------------------------------------------------------


def run(
    admin: Any,
    create: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
    *,
    ops: int,
    fault_rate: float,
    read_timeout: float,
    poll_interval: float,
    threads: int,
    stall_callers: int,
    seed: int,
    watch_s: tuple[float, float] = (5.0, 30.0),
    stall_s: float = 30.0,
    budget_s: tuple[float, float] = (1.0, 4.0),
    num_retries: int | None = None,
) -> dict[str, Any]:
    """Both phases against an emulator (``admin``: its admin client; ``create``: creates operations)."""
    started = time.monotonic()
    plan = create_plan(ops, seed, create, watch_s)
    rules = fault_rules(fault_rate, read_timeout)
    admin.set_faults(rules, seed=seed)
    with short_timeouts(read_timeout), outside_task_runner():
        phase = run_tasks(plan, poll_interval=poll_interval, threads=threads, seed=seed)
    faults = admin.faults()
    stats = admin.stats()
    admin.clear_faults()
    served = sum(v for k, v in stats["requests"].items() if k not in ("admin", "unknown"))
    phase1 = check_phase1(plan, phase, admin.history)
    phase1.update(
        {
            "seconds": round(phase.seconds, 1),
            "requests": served,
            "faults_injected": stats["faults"]["total"],
            "fault_share": round(stats["faults"]["total"] / max(served, 1), 3),
            "faults_by_kind": {k: v for k, v in stats["faults"].items() if k != "total"},
            "rules": faults["rules"],
        }
    )

    stall = [
        admin.create_operation(service=SERVICE, project=STALL_PROJECT, duration_s=7200)["name"]
        for _ in range(stall_callers)
    ]
    admin.set_faults(stall_rules(stall_s), seed=seed)
    with short_timeouts(read_timeout):
        phase2 = deadlines_against_stalls(stall, seed=seed, budget_s=budget_s)
    admin.clear_faults()
    return {
        "parameters": {
            "ops": ops,
            "fault_rate": fault_rate,
            "read_timeout_s": read_timeout,
            "watch_s": watch_s,
            "num_retries": num_retries,
            "stall_s": stall_s,
            "deadlines_s": budget_s,
            "poll_interval_s": poll_interval,
            "worker_threads": threads,
            "stall_callers": stall_callers,
            "seed": seed,
        },
        "phase1": phase1,
        "phase2": phase2,
        "ok": phase1["ok"] and phase2["ok"],
        "seconds": round(time.monotonic() - started, 1),
    }


def report(result: dict[str, Any]) -> str:
    p1, p2, params = result["phase1"], result["phase2"], result["parameters"]
    retries = params.get("num_retries")
    from airflow_provider_gcp_ops.operations.retry import DEFAULT_RETRY

    default = DEFAULT_RETRY.max_attempts
    budget = f"the client's default, {default} attempts" if retries is None else f"{retries + 1} attempts (num_retries)"
    lines = [
        f"chaos: {p1['tasks']} tasks ({p1['deferred']} deferred) under {100 * p1['fault_share']:.1f} % injected "
        f"faults ({p1['faults_injected']} of {p1['requests']} requests: "
        + ", ".join(f"{k} {v}" for k, v in sorted(p1["faults_by_kind"].items()))
        + f"), read timeout {params['read_timeout_s']:g} s, {p1['seconds']:.0f} s",
        f"  wrong outcomes (task-level failures included): {p1['wrong_outcomes']} (retry budget: {budget})",
        f"  cancels never accepted: {p1['cancels_lost']} (each also a failed task above, none silent); "
        f"cancels sent for watched-only operations: {p1['cancels_unexpected']}",
        f"  operations with a duplicate (idempotent) accepted cancel: {p1['operations_with_duplicate_cancels']} "
        f"(accepted cancels per operation: {p1['accepted_cancels_per_operation']})",
        f"  wrong end states at the emulator: {p1['wrong_end_states']}; longest task: {p1['task_seconds_max']} s",
        f"stalled server ({params['stall_s']:g} s): {p2['callers']} callers with "
        f"{params['deadlines_s'][0]:g}-{params['deadlines_s'][1]:g} s deadlines; "
        f"max overshoot {p2['max_overshoot_s']:.3f} s "
        f"(target <= {MAX_OVERSHOOT_S:g} s); by caller "
        + ", ".join(f"{k} {v:.3f} s" for k, v in p2["max_overshoot_by_caller_s"].items()),
        f"  outcomes: {p2['outcomes']}",
        f"chaos {'OK' if result['ok'] else 'FAILED'} in {result['seconds']:.0f} s",
    ]
    if p1["wrong_examples"]:
        lines.insert(2, f"  examples: {p1['wrong_examples']}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=1000)
    parser.add_argument("--fault-rate", type=float, default=0.3)
    parser.add_argument("--read-timeout", type=float, default=1.0)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=32, help="worker threads running execute()")
    parser.add_argument("--stall-callers", type=int, default=30)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--num-retries",
        type=int,
        help="the connection's num_retries extra (attempts = num_retries + 1); default: the client's own budget",
    )
    args = parser.parse_args()
    if args.num_retries is not None:
        os.environ["AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT"] = json.dumps(
            {"conn_type": "google_cloud_platform", "extra": {"num_retries": args.num_retries}}
        )

    sys.path.insert(0, str(HERE))
    from _common import ENV_VAR, RESULTS, create_operations, emulator, output_to, raise_fd_limit, write_result

    raise_fd_limit()
    log = RESULTS / "chaos_tasks.log"
    print(f"chaos: {args.ops} operations, {100 * args.fault_rate:g} % faults; task logs in {log}", flush=True)
    with emulator(time_scale=1.0, seed=args.seed, log="chaos_emulator") as emu:
        os.environ[ENV_VAR] = emu.host
        with emu.admin() as admin, output_to(log):
            result = run(
                admin,
                lambda specs: create_operations(emu.host, specs),
                ops=args.ops,
                fault_rate=args.fault_rate,
                read_timeout=args.read_timeout,
                poll_interval=args.poll_interval,
                threads=args.threads,
                stall_callers=args.stall_callers,
                seed=args.seed,
                num_retries=args.num_retries,
            )
    path = write_result("chaos", result)
    print(report(result))
    print(json.dumps({"ok": result["ok"], "phase1_ok": result["phase1"]["ok"], "phase2_ok": result["phase2"]["ok"]}))
    print(f"wrote {path.relative_to(HERE.parent)}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

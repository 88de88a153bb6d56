"""What ``gcp-operations`` prints: rich tables on stdout (``--format table``) or JSON (``--format json``).

Results go to stdout, notes, errors and the live progress to stderr, so ``--format json | jq`` stays clean.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from airflow_provider_gcp_ops.operations.model import Operation
from airflow_provider_gcp_ops.operations.names import CollectionRef, OperationRef
from airflow_provider_gcp_ops.operations.progress import progress_of

PIPE_WIDTH = 200
STATE_STYLE = {"running": "cyan", "succeeded": "green", "failed": "bold red", "cancelled": "yellow"}


@cache
def _console(stderr: bool) -> Any:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped output (grep, less) keeps whole rows rather than rich's 80-column default for non-terminals.
    width = None if stream.isatty() else PIPE_WIDTH
    return Console(stderr=stderr, highlight=False, soft_wrap=False, width=width)


def out() -> Any:
    return _console(False)


def err() -> Any:
    return _console(True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def note(message: str) -> None:
    err().print(message, markup=False)


def error(message: str) -> None:
    err().print(f"[bold red]error[/]: {_escape(message)}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def age(seconds: float | None) -> str:
    """``45s``, ``12m``, ``3h05m``, ``2d04h``."""
    if seconds is None:
        return "-"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def operation_json(ref: OperationRef | CollectionRef, op: Operation) -> dict[str, Any]:
    return {
        **op.summary(),
        "service": ref.service,
        "api_version": ref.api_version,
        "end_time": _iso(op.end_time()),
        "progress": progress_of(op).to_json(),
    }


def _short_type(kind: str | None) -> str:
    return "-" if not kind else kind.rsplit("/", 1)[-1].rsplit(".", 1)[-1]


def _state_text(op: Operation) -> str:
    state = op.state.value
    return f"[{STATE_STYLE[state]}]{state}[/]"


def show_list(
    coll: CollectionRef, ops: Sequence[Operation], *, fmt: str, unreachable: Sequence[str], now: float
) -> None:
    if fmt == "json":
        print_json(
            {
                "parent": coll.parent,
                "operations": [operation_json(coll, op) for op in ops],
                "unreachable": list(unreachable),
            }
        )
        return
    from rich.table import Table

    table = Table(title=f"{coll.spec.title} operations in {coll.parent}", title_justify="left")
    for column in ("operation", "state", "started", "age", "type", "progress / error"):
        table.add_column(column, no_wrap=column != "progress / error")
    for op in ops:
        started = op.start_time()
        detail = (op.error.message if op.error else progress_of(op).describe()) or ""
        table.add_row(
            op.name.rsplit("/operations/", 1)[-1],
            _state_text(op),
            started.strftime("%Y-%m-%d %H:%M:%S") if started else "-",
            age(now - started.timestamp()) if started else "-",
            _short_type(op.metadata_type),
            _escape(detail),
        )
    out().print(table)
    note(f"{len(ops)} operation(s)" + (f"; unreachable: {', '.join(unreachable)}" if unreachable else ""))


def show_operation(ref: OperationRef, op: Operation, *, fmt: str) -> None:
    if fmt == "json":
        print_json({**operation_json(ref, op), "metadata": op.metadata, "response": op.response})
        return
    from rich.table import Table

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    started, ended = op.start_time(), op.end_time()
    rows: list[tuple[str, str]] = [
        ("name", _escape(op.name)),
        ("service", f"{ref.spec.title} ({ref.service} {ref.api_version})"),
        ("state", _state_text(op)),
        ("type", _escape(op.metadata_type or "-")),
        ("started", _iso(started) or "-"),
        ("ended", _iso(ended) or "-"),
    ]
    progress = progress_of(op).describe()
    if progress:
        rows.append(("progress", _escape(progress)))
    if op.error is not None:
        rows.append(("error", _escape(f"{op.error.rpc_name} ({op.error.code}): {op.error.message}")))
    for key, value in rows:
        table.add_row(key, value)
    out().print(table)


def service_rows() -> list[dict[str, Any]]:
    """Every row of the service table as plain data, read through its public surface only (so a reworked table
    shows up here without changes): key, title, hosts, versions, and which verbs it supports."""
    from airflow_provider_gcp_ops.operations import services as table

    rows = []
    for spec in table.services():
        verbs = {verb.value: bool(spec.supports(verb)) for verb in table.Verb}
        rows.append(
            {
                "key": spec.key,
                "title": spec.title,
                "host": spec.host,
                "regional_host": getattr(spec, "regional_host", None),
                "versions": list(spec.versions),
                "verbs": verbs,
            }
        )
    return rows


def describe_verbs(verbs: dict[str, bool]) -> str:
    """``get list cancel delete +:wait`` / ``get list delete (no cancel)``: ``wait`` is the server-side ``:wait``
    (``gcp-operations wait`` polls with GET wherever a service has none)."""
    shown = [v for v, ok in verbs.items() if ok and v != "wait"]
    if verbs.get("wait"):
        shown.append("+:wait")
    missing = [v for v, ok in verbs.items() if not ok and v != "wait"]
    return " ".join(shown) + (f" (no {', no '.join(missing)})" if missing else "")


def show_services(rows: Iterable[dict[str, Any]], *, fmt: str) -> None:
    rows = list(rows)
    if fmt == "json":
        print_json(rows)
        return
    from rich.table import Table

    table = Table(title="Services", title_justify="left")
    for column in ("key", "service", "host", "versions", "verbs"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        host = row["regional_host"] or row["host"]
        verbs = describe_verbs(row["verbs"])
        table.add_row(row["key"], row["title"], host, ", ".join(row["versions"]), verbs)
    out().print(table)

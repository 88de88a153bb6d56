"""Argument parsing, credentials, exit codes and the commands of ``gcp-operations``.

Imports stay cheap at module level (argparse, the service table): the HTTP stack, google-auth and rich load only
when a command needs them, and Airflow never does.
"""

from __future__ import annotations

import argparse
import enum
import re
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

PROG = "gcp-operations"
# The library's ``client_base.EMULATOR_ENV`` (a test checks they agree): importing client_base here would load the
# HTTP stack before argparse has even run.
EMULATOR_ENV = "GCP_OPERATIONS_EMULATOR_HOST"


class ExitCode(enum.IntEnum):
    """What scripts can rely on. ``get``/``wait``/``cancel --wait`` exit with the operation's state."""

    OK = 0  # done and succeeded (get, wait, cancel --wait); the command succeeded (list, delete, cancel, services)
    FAILED = 1  # the operation finished with an error
    BAD_INPUT = 2  # usage, a malformed name or filter, an unknown service, a verb the service lacks
    CANCELLED = 3  # the operation finished cancelled
    TIMEOUT = 4  # wait --timeout passed while it still ran
    AUTH = 5  # no usable credentials, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED
    NOT_FOUND = 6  # no such operation (or collection)
    API_ERROR = 7  # any other server or network error, after the library's retries
    RUNNING = 8  # get: the operation is still running
    INTERRUPTED = 130  # Ctrl-C (the operation was left running unless you chose to cancel it)


EXIT_CODES_HELP = "exit codes: " + ", ".join(f"{c.value} {c.name.lower()}" for c in ExitCode)

STATE_EXIT = {
    "succeeded": ExitCode.OK,
    "failed": ExitCode.FAILED,
    "cancelled": ExitCode.CANCELLED,
    "running": ExitCode.RUNNING,
}
STATES = tuple(STATE_EXIT)

_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)d)?(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?")


class BadInput(ValueError):
    """The command line cannot be acted on; nothing was sent."""


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``30m``, ``2h``, ``1d``, ``1h30m`` as seconds."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not text.strip() or match is None or not any(match.groups()):
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90s, 30m, 2h, 1d, 1h30m)")
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + seconds


def _states(text: str) -> frozenset[str]:
    states = frozenset(s.strip().lower() for s in text.split(",") if s.strip())
    unknown = states - set(STATES) - {"done"}
    if not states or unknown:
        raise argparse.ArgumentTypeError(f"states are {', '.join((*STATES, 'done'))}; got {text!r}")
    return states


# -- the parser ---------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--service", help="service key (see `services`); needed when a name fits several")
    common.add_argument("--api-version", help="API version (default: the name's, else the service's first)")
    common.add_argument("--format", choices=("table", "json"), default="table", help="output (default: table)")
    auth = common.add_argument_group("credentials (default: Application Default Credentials)")
    auth.add_argument("--key-file", metavar="PATH", help="a service account JSON key file")
    auth.add_argument(
        "--impersonate", metavar="SA[,SA...]", help="impersonate this service account (a chain: last is the target)"
    )

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="List, inspect, cancel, delete and wait for Google Cloud long-running operations. Names: "
        "relative (with --service when ambiguous), full resource names (//dataproc.googleapis.com/...) or REST "
        f"URLs. ${EMULATOR_ENV}=host:port talks to the Operations emulator instead of Google.",
        epilog=EXIT_CODES_HELP,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", parents=[common], help="operations under a parent", epilog=EXIT_CODES_HELP)
    p.add_argument("parent", help="projects/p/regions/r, projects/p/locations/l (with or without /operations)")
    p.add_argument("--filter", help="the service's own list filter, sent to the server")
    p.add_argument("--state", type=_states, help="keep only these states (comma-separated; 'done' = any end)")
    p.add_argument("--older-than", type=parse_duration, metavar="AGE", help="keep only operations started AGE ago")
    p.add_argument("--limit", type=int, default=1000, help="list at most this many (default 1000)")

    p = sub.add_parser("get", parents=[common], help="one operation (exit code = its state)", epilog=EXIT_CODES_HELP)
    p.add_argument("name")

    p = sub.add_parser("cancel", parents=[common], help="request cancellation", epilog=EXIT_CODES_HELP)
    p.add_argument("name")
    p.add_argument("--wait", action="store_true", help="then wait for the outcome (exit code = its state)")
    p.add_argument("--timeout", type=parse_duration, default=None, metavar="DURATION", help="for --wait")

    p = sub.add_parser("delete", parents=[common], help="delete the record (does not cancel)", epilog=EXIT_CODES_HELP)
    p.add_argument("name")

    p = sub.add_parser("wait", parents=[common], help="wait with live progress", epilog=EXIT_CODES_HELP)
    p.add_argument("name")
    p.add_argument("--timeout", type=parse_duration, default=None, metavar="DURATION", help="e.g. 30m (default: none)")
    p.add_argument(
        "--cancel-on-interrupt", action="store_true", help="Ctrl-C cancels the operation without asking first"
    )

    p = sub.add_parser("services", help="the services this tool knows and their verbs", epilog=EXIT_CODES_HELP)
    p.add_argument("--format", choices=("table", "json"), default="table")
    return parser


# -- the client ---------------------------------------------------------------------------------------------------


def make_client(args: argparse.Namespace, **settings: Any) -> Any:
    """The sync client with the credentials asked for; the emulator (``$GCP_OPERATIONS_EMULATOR_HOST``) never
    mixes with real credentials: asking for both is an error, not a silent choice."""
    from airflow_provider_gcp_ops.operations.client_base import emulator_host_from_env
    from airflow_provider_gcp_ops.operations.sync_client import OperationsClient

    emulator = emulator_host_from_env()
    if emulator and (args.key_file or args.impersonate):
        raise BadInput(f"--key-file/--impersonate cannot be used with ${EMULATOR_ENV} (set to {emulator!r})")
    credentials = None
    if not emulator:
        from airflow_provider_gcp_ops.hooks.credentials import (
            ConnectionSettings,
            CredentialsConfigError,
            build_credentials,
            parse_chain,
        )

        chain = parse_chain(args.impersonate)
        wanted = ConnectionSettings(key_path=args.key_file, impersonation_chain=chain)
        try:
            credentials, _ = build_credentials(wanted)
        except (OSError, ValueError, KeyError) as exc:  # unreadable or malformed key file (no content in the text)
            raise CredentialsConfigError(f"cannot use --key-file {args.key_file!r}: {type(exc).__name__}") from None
    return OperationsClient(credentials=credentials, **settings)


def _name_kw(args: argparse.Namespace) -> dict[str, Any]:
    return {"service": args.service, "api_version": args.api_version}


def _operation(args: argparse.Namespace) -> Any:
    """The validated name, before credentials or any network call."""
    from airflow_provider_gcp_ops.operations.names import resolve_operation

    return resolve_operation(args.name, **_name_kw(args))


# -- commands -----------------------------------------------------------------------------------------------------


def cmd_services(args: argparse.Namespace) -> int:
    from airflow_provider_gcp_ops.cli import output

    output.show_services(output.service_rows(), fmt=args.format)
    return ExitCode.OK


def cmd_list(args: argparse.Namespace) -> int:
    from airflow_provider_gcp_ops.cli import output

    if args.limit < 1:
        raise BadInput(f"--limit must be >= 1, got {args.limit}")
    from airflow_provider_gcp_ops.operations.names import resolve_collection

    coll = resolve_collection(args.parent, **_name_kw(args))
    with make_client(args) as client:
        pager = client.list(coll, filter=args.filter, max_results=args.limit)
        now = time.time()
        listed = list(pager)
    if len(listed) >= args.limit:
        output.note(f"stopped at --limit {args.limit}: there may be more operations")
    ops = [op for op in listed if _keep(op, args.state, args.older_than, now)]
    output.show_list(coll, ops, fmt=args.format, unreachable=pager.unreachable, now=now)
    return ExitCode.OK


def _keep(op: Any, states: frozenset[str] | None, older_than: float | None, now: float) -> bool:
    if states is not None and op.state.value not in states and not ("done" in states and op.done):
        return False
    if older_than is not None:
        started = op.start_time()
        if started is None or now - started.timestamp() < older_than:
            return False
    return True


def cmd_get(args: argparse.Namespace) -> int:
    from airflow_provider_gcp_ops.cli import output

    ref = _operation(args)
    with make_client(args) as client:
        op = client.get(ref)
    output.show_operation(ref, op, fmt=args.format)
    return STATE_EXIT[op.state.value]


def cmd_cancel(args: argparse.Namespace) -> int:
    from airflow_provider_gcp_ops.cli import output

    ref = _operation(args)
    with make_client(args) as client:
        client.cancel(ref)
        output.note(f"cancel requested: {ref.name}")
        if not args.wait:
            return ExitCode.OK
        from airflow_provider_gcp_ops.cli.waiting import Waiter

        op = Waiter(client, ref, timeout=args.timeout, cancel_on_interrupt=False, asked=True).run()
    output.show_operation(ref, op, fmt=args.format)
    return STATE_EXIT[op.state.value]


def cmd_delete(args: argparse.Namespace) -> int:
    from airflow_provider_gcp_ops.cli import output

    ref = _operation(args)
    with make_client(args) as client:
        client.delete(ref)
    output.note(f"deleted: {ref.name}")
    if args.format == "json":
        output.print_json({"deleted": ref.name, "service": ref.service})
    return ExitCode.OK


def cmd_wait(args: argparse.Namespace) -> int:
    from airflow_provider_gcp_ops.cli import output
    from airflow_provider_gcp_ops.cli.waiting import Waiter

    ref = _operation(args)
    with make_client(args) as client:
        op = Waiter(client, ref, timeout=args.timeout, cancel_on_interrupt=args.cancel_on_interrupt).run()
    output.show_operation(ref, op, fmt=args.format)
    return STATE_EXIT[op.state.value]


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "services": cmd_services,
    "list": cmd_list,
    "get": cmd_get,
    "cancel": cmd_cancel,
    "delete": cmd_delete,
    "wait": cmd_wait,
}


# -- errors to exit codes -----------------------------------------------------------------------------------------


def exit_code_for(exc: BaseException) -> ExitCode:
    """The exit code of an error a command raised (the message is printed by :func:`main`)."""
    from airflow_provider_gcp_ops.hooks.credentials import CredentialsConfigError
    from airflow_provider_gcp_ops.operations import errors
    from airflow_provider_gcp_ops.operations.services import UnknownServiceError

    if isinstance(exc, (BadInput, errors.InvalidOperationNameError, UnknownServiceError)):
        return ExitCode.BAD_INPUT
    if isinstance(exc, (errors.Unimplemented, errors.InvalidArgument)):
        return ExitCode.BAD_INPUT
    if isinstance(exc, errors.WaitTimeout):
        return ExitCode.TIMEOUT
    if isinstance(exc, (errors.Unauthenticated, errors.PermissionDenied, CredentialsConfigError)):
        return ExitCode.AUTH
    if isinstance(exc, errors.NotFound):
        return ExitCode.NOT_FOUND
    if _is_google_auth_error(exc):
        return ExitCode.AUTH
    if isinstance(exc, (errors.OperationsError, OSError)):
        return ExitCode.API_ERROR
    raise exc


def _is_google_auth_error(exc: BaseException) -> bool:
    module = sys.modules.get("google.auth.exceptions")
    return module is not None and isinstance(exc, module.GoogleAuthError)


def _fail(code: ExitCode, message: str) -> NoReturn:
    from airflow_provider_gcp_ops.cli import output

    output.error(message)
    raise SystemExit(int(code))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(COMMANDS[args.command](args))
    except KeyboardInterrupt:
        _fail(ExitCode.INTERRUPTED, "interrupted")
    except Exception as exc:
        code = exit_code_for(exc)
        _fail(code, f"{code.name.lower().replace('_', ' ')}: {exc}")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

"""``python -m airflow_provider_gcp_ops.emulator``: run the Operations emulator until SIGINT/SIGTERM.

Prints ``GCP_OPERATIONS_EMULATOR_HOST=127.0.0.1:PORT`` and the URL once it accepts requests.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_gcp_ops.emulator",
        description="Emulate Google Cloud long-running operations (google.longrunning.Operations over REST).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default 0)")
    parser.add_argument("--no-auth", action="store_true", help="do not require an Authorization: Bearer header")
    parser.add_argument("--time-scale", type=float, default=1.0, help="virtual seconds per real second (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of operation ids and fault draws (default 0)")
    parser.add_argument("--faults", type=Path, help='JSON file {"seed": N, "rules": [...]} of faults to inject')
    parser.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.time_scale > 0:
        print("error: --time-scale must be > 0", file=sys.stderr)
        return 2
    faults = None
    if args.faults is not None:
        try:
            faults = json.loads(args.faults.read_text())
        except (OSError, ValueError) as exc:
            print(f"error: cannot read --faults {args.faults}: {exc}", file=sys.stderr)
            return 2

    from airflow_provider_gcp_ops.emulator.faults import FaultConfigError
    from airflow_provider_gcp_ops.emulator.server import ENV_VAR, EmulatorServer

    try:
        server = EmulatorServer(
            args.host,
            args.port,
            auth=not args.no_auth,
            time_scale=args.time_scale,
            seed=args.seed,
            faults=faults,
            log_level=args.log_level,
        )
    except FaultConfigError as exc:
        print(f"error: invalid --faults {args.faults}: {exc}", file=sys.stderr)
        return 2

    def announce(emu: EmulatorServer) -> None:
        print(f"{ENV_VAR}={emu.host}", flush=True)
        print(f"Operations emulator listening on {emu.url} (auth {'on' if not args.no_auth else 'off'})", flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever(on_started=announce)
    return 0


if __name__ == "__main__":
    sys.exit(main())

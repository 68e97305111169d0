"""`python -m relay_worker [--check [--state-file F]]`: what `relay worker` runs.

The server CLI (`relay_api.cli worker`, which `relay worker` and `relay dev` use) replaces its process
with this one, so the API package never imports the worker package.
"""

from __future__ import annotations

import argparse
import sys

from relay_worker.main import check_worker, run_worker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="relay worker", description="run one background worker (arq)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 0 if this host's worker is alive (its liveness key is fresh), 1 if not: a liveness probe",
    )
    parser.add_argument(
        "--state-file", default=None, help="the worker's state file (default $AGENT_RELAY_WORKER_STATE_FILE)"
    )
    args = parser.parse_args(argv)
    if args.check:
        return check_worker(args.state_file)
    return run_worker()


if __name__ == "__main__":
    sys.exit(main())

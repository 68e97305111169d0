"""The long fault soak: real nodes, workers and Redis killed -9 under load; prints what was lost.

    python -m bench.soak [--duration 300] [--node-every 30] [--worker-every 45] [--redis-at 0.5]
                         [--senders 6] [--keep DIR]

Two `relay serve` nodes, two `relay worker`s and a redis-server with an fsynced AOF, all started
here on free ports (never 6379). For `--duration` seconds: senders post messages to random nodes,
two SSE clients stream and resume with `Last-Event-ID` after every cut, agents race for claimable
messages on both nodes, an automation fires every second; meanwhile a node is killed -9 every
`--node-every` s (alternating, restarted on its port after 1 s), a worker every `--worker-every` s,
and Redis once at `--redis-at` of the run (down 2 s). Then it counts (tests/soak.py) and prints a
JSON report; the exit code is 0 when nothing was lost or duplicated. `tests/multinode/test_soak.py`
is the same soak, 40 s long, in the suite.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from tests.soak import SoakPlan, run_soak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of load (default 300)")
    parser.add_argument("--node-every", type=float, default=30.0, help="seconds between node kills")
    parser.add_argument("--worker-every", type=float, default=45.0, help="seconds between worker kills")
    parser.add_argument("--redis-at", type=float, default=0.5, help="fraction of the run at which Redis is killed")
    parser.add_argument("--no-redis-kill", action="store_true")
    parser.add_argument("--senders", type=int, default=6, help="concurrent message senders")
    parser.add_argument("--keep", default=None, help="keep the process logs and Redis data in this directory")
    args = parser.parse_args()
    plan = SoakPlan(
        duration_s=args.duration,
        node_kill_every_s=args.node_every,
        worker_kill_every_s=args.worker_every,
        redis_kill_at=None if args.no_redis_kill else args.redis_at,
        senders=args.senders,
    )
    if args.keep:
        report = run_soak(plan, Path(args.keep))
    else:
        with tempfile.TemporaryDirectory(prefix="relay-soak-") as tmp:
            report = run_soak(plan, Path(tmp))
    print(json.dumps(report.as_dict(), indent=2))
    return 0 if report.clean else 1


if __name__ == "__main__":
    sys.exit(main())

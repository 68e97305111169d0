"""Profile one loaded relay node with py-spy: where the microseconds of a request go.

    pip install py-spy                     # into the venv; not a dependency of the relay
    python -m bench.profile_node --route "send, admin token" --seconds 10

Starts what bench/wrk_bench.py starts (private Redis, the node pinned to its core), loads one of its
routes with wrk and samples the node meanwhile (`py-spy record --format raw`, idle frames left out).
Prints the share of samples under each frame that matters (inclusive) and the top functions by
own time, and scales the shares by the node's CPU time per request measured in the same run.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

from bench.wrk_bench import populate, routes, running, wrk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--route", default="send, admin token", help="a row name of bench/wrk_bench.py")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    with running(args) as (_, relay, redis_port, _node_cpus, load_cpus), tempfile.TemporaryDirectory() as tmp:
        ids = populate(relay)
        route = next(r for r in routes(ids) if r.name == args.route)
        out = Path(tmp) / "stacks.txt"
        figures: dict[str, float] = {}

        def load() -> None:
            figures.update(wrk(route, relay, redis_port, args, load_cpus))

        loader = threading.Thread(target=load)
        loader.start()
        record = [spy, "record", "--pid", str(relay.popen.pid), "--duration", str(int(args.seconds) - 2)]
        record += ["--rate", "200", "--format", "raw", "--nonblocking", "--output", str(out)]
        subprocess.run(record, capture_output=True, timeout=args.seconds + 60, check=True)
        loader.join(timeout=args.seconds + 60)
        stacks = [line.rsplit(" ", 1) for line in out.read_text().splitlines() if line.strip()]
    total = sum(int(n) for _, n in stacks)
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for stack, n in stacks:
        # One function, whatever line of it was running: "name (file:line)" -> "name (file)".
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        own[frames[-1]] += int(n)
        for frame in set(frames):
            inclusive[frame] += int(n)
    us = figures.get("cpuUs", 0.0)
    print(f"{route.name}: {figures.get('rps', 0):.0f} req/s, {us:.0f} µs node CPU per request, {total} samples")
    print("\ninclusive (share of samples, ≈ µs per request):")
    for frame, n in inclusive.most_common(args.top):
        print(f"{100 * n / total:5.1f} %  {us * n / total:6.1f} µs  {frame}")
    print("\nown time:")
    for frame, n in own.most_common(args.top):
        print(f"{100 * n / total:5.1f} %  {us * n / total:6.1f} µs  {frame}")


if __name__ == "__main__":
    main()

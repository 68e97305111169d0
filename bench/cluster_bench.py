"""The send benchmark on a single Redis and on a 3-master Redis Cluster, in the same run.

Two `relay serve` nodes run side by side, one whose data is a plain redis-server and one whose data
is a 3-master Redis Cluster on loopback (`AGENT_RELAY_REDIS_CLUSTER=1`), both started here and
stopped at the end. `wrk` (one thread, 50 keep-alive connections) sends `POST /api/messages` to one
node at a time, alternating which goes first each round, so a noisy neighbour hurts both alike; the
figures are medians over the rounds and the ratio is cluster / single.

Cores (as bench/'s other wrk runs do): with two or more cores the nodes run on the first one and
wrk and every redis-server on the others (`taskset`), so a node's figures are not its load
generator's. Only one node is loaded at a time.

    python -m bench.cluster_bench                          # 3 rounds of 10 s per tier, ~2 minutes
    python -m bench.cluster_bench --seconds 5 --rounds 3 --json

What to expect: every message lives in the `bus` hash-tag group, i.e. one slot on one shard, so a
cluster cannot spread sends over its masters; the cluster client also does a little more work per
command (slot lookup). The ratio says what that costs; see the README's Redis Cluster section.
On a shared machine the node CPU per request is the steadier figure: a neighbour's load delays the
redis-servers sharing wrk's core and moves throughput by tens of percent between rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.procs import cores, cpu_seconds, pin, taskset
from relay_api.embedded import EmbeddedRedis, LocalCluster, free_port

ROOT = Path(__file__).resolve().parent.parent
WRK_SCRIPT = ROOT / "bench" / "cluster_send.lua"
ADMIN_TOKEN = "cluster-bench-admin-token"
BODY = json.dumps({"from": "bench-a", "to": "bench-b", "body": "hello from the load generator " * 3})










@dataclass
class Node:
    tier: str
    popen: subprocess.Popen[bytes]
    port: int
    runs: list[dict[str, float]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_node(tier: str, env: dict[str, str], cpus: list[int], log: Path) -> Node:
    port = free_port()
    args = [*taskset(cpus), sys.executable, "-m", "relay_api.cli", "serve", "--port", str(port)]
    popen = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    node = Node(tier, popen, port)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"{tier} node exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(node.url + "/readyz", timeout=1).status_code == 200:
                return node
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{tier} node not ready:\n{log.read_text()[-3000:]}")


def wrk(node: Node, *, seconds: float, connections: int, load_cpus: list[int]) -> dict[str, float]:
    env = dict(os.environ, SEND_BODY=BODY, SEND_TOKEN=ADMIN_TOKEN)
    args = [*taskset(load_cpus), "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s"]
    args += ["-s", str(WRK_SCRIPT), node.url]
    cpu0 = cpu_seconds(node.popen.pid)
    out = subprocess.run(args, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False)
    cpu1 = cpu_seconds(node.popen.pid)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("SUMMARY ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary (exit {out.returncode}):\n{out.stdout}\n{out.stderr}")
    requests, duration_us, bad_status, socket_errors, p50, p99 = map(int, line.split()[1:])
    if bad_status or socket_errors:
        raise RuntimeError(f"{node.tier}: {bad_status} non-2xx answers and {socket_errors} socket errors")
    return {
        "rps": requests / (duration_us / 1e6),
        "p50Ms": p50 / 1000,
        "p99Ms": p99 / 1000,
        "cpuUsPerRequest": 1e6 * (cpu1 - cpu0) / max(requests, 1),
    }


def summary(node: Node) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in node.runs) for key in node.runs[0]}


def run(args: argparse.Namespace) -> dict[str, Any]:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    node_cpus, load_cpus = cores() if not args.no_pin else ([], [])
    with tempfile.TemporaryDirectory(prefix="relay-cluster-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        plain = EmbeddedRedis(tmp / "plain", persistent=False).start()
        cluster = LocalCluster(tmp / "cluster")
        nodes: list[Node] = []
        try:
            cluster.start()
            for server in (plain, *cluster.nodes):
                assert server.proc is not None
                pin(server.proc.pid, load_cpus)
            base = dict(os.environ, AGENT_RELAY_ADMIN_TOKEN=ADMIN_TOKEN, PYTHONPATH=str(ROOT))
            nodes.append(start_node("single", {**base, "REDIS_URL": plain.url}, node_cpus, tmp / "single.log"))
            cluster_env = {**base, "REDIS_URL": cluster.url, "AGENT_RELAY_REDIS_CLUSTER": "1"}
            nodes.append(start_node("cluster", cluster_env, node_cpus, tmp / "cluster.log"))
            for node in nodes:
                for agent in ("bench-a", "bench-b"):
                    r = httpx.post(
                        node.url + "/api/agents", json={"id": agent}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
                    )
                    r.raise_for_status()
                wrk(node, seconds=2, connections=args.connections, load_cpus=load_cpus)  # warm-up, not counted
            for round_no in range(args.rounds):
                for node in nodes if round_no % 2 == 0 else nodes[::-1]:
                    node.runs.append(wrk(node, seconds=args.seconds, connections=args.connections, load_cpus=load_cpus))
                    if not args.json:
                        last = node.runs[-1]
                        print(f"round {round_no + 1} {node.tier:8} {last['rps']:7.0f} req/s", flush=True)
        finally:
            for node in nodes:
                node.popen.terminate()
                node.popen.wait(timeout=20)
            cluster.stop()
            plain.stop()
    single, clustered = (summary(node) for node in nodes)
    return {
        "seconds": args.seconds,
        "rounds": args.rounds,
        "connections": args.connections,
        "pinning": f"nodes on {node_cpus}, wrk and redis-servers on {load_cpus}" if node_cpus else "not pinned",
        "single": single,
        "cluster": clustered,
        "ratio": clustered["rps"] / single["rps"],
        "cpuRatio": clustered["cpuUsPerRequest"] / single["cpuUsPerRequest"],
        "roundsRps": {node.tier: [round(run["rps"]) for run in node.runs] for node in nodes},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--no-pin", action="store_true", help="let the OS place every process")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"\n{result['pinning']}; medians of {args.rounds} rounds of {args.seconds:g} s, {args.connections} connections"
    )
    print(f"{'':10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'node CPU µs/req':>16}")
    for tier in ("single", "cluster"):
        fig = result[tier]
        print(f"{tier:10} {fig['rps']:8.0f} {fig['p50Ms']:8.2f} {fig['p99Ms']:8.2f} {fig['cpuUsPerRequest']:16.0f}")
    print(
        f"cluster / single: {result['ratio']:.2f} by throughput (rounds: {result['roundsRps']}), "
        f"{result['cpuRatio']:.2f} by node CPU per request"
    )


if __name__ == "__main__":
    main()

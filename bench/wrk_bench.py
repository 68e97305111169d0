"""Every hot route of one relay node under `wrk`, beside a bare Litestar baseline in the same run.

    python -m bench.wrk_bench                     # ~5 minutes: 3 rounds of 5 s per route, then SSE
    python -m bench.wrk_bench --seconds 3 --rounds 1 --only "send, admin;inbox" --no-sse

What runs (all started here on free ports, stopped at the end, whatever happens):
- a private redis-server (no persistence), never the one on 6379;
- the baseline, bench/baseline_app.py: Litestar + one EVALSHA shaped like a send (INCR + HSET + XADD
  + PUBLISH), a bare `GET /hello`, and a bare pub/sub SSE stream;
- one `relay serve` node, agent rate limits on (high enough never to refuse), SSE stream limit off.

Cores: with two or more, the node and the baseline run on the first core, `wrk` (one thread), Redis
and the SSE client on the others (`taskset`), so the figures are the server's, not the load
generator's. Each round runs every route once for `--seconds` with `--connections` keep-alive
connections, in alternating order (baseline first, then last), so a noisy neighbour hurts both
alike; the table shows medians over the rounds. It also reports the node's and Redis's CPU time per
request (from /proc and INFO), which a shared machine distorts less than throughput.

SSE: bench/sse_fanout.py (raw sockets) holds 100 and 1,000 streams open on the node, sends one
message at a time and times each delivery; the same client against the baseline's bare pub/sub SSE
is its baseline. Two API nodes against one need a core per node plus the load generator's: on a
machine with fewer than four cores this prints that instead of a figure.

Writes bench/RESULTS.md (or `--out`) and prints it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.procs import cores, cpu_seconds, stop, taskset  # noqa: E402
from relay_api.embedded import EmbeddedRedis, free_port  # noqa: E402

WRK_SCRIPT = ROOT / "bench" / "wrk_request.lua"
ADMIN_TOKEN = "wrk-bench-admin-token"
TOKEN_SECRET = "wrk-bench-token-secret-0123456789abcdef"
TEXT = "hello from the load generator " * 3
FANOUT_SIZES = (10, 100)
INBOX_AGENT, INBOX_SIZE = "bench-inbox", 40








def redis_cpu_seconds(port: int) -> float:
    info = redis.Redis(port=port, socket_timeout=5).info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


@dataclass
class Server:
    name: str
    popen: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Route:
    """One row of the table: a request wrk repeats, and what it is compared with."""

    name: str
    server: str  # "baseline" | "relay"
    method: str
    path: str
    body: str = ""
    token: str = ADMIN_TOKEN
    versus: str | None = None  # the baseline row it is a ratio of
    runs: list[dict[str, float]] = field(default_factory=list)

    def median(self, key: str) -> float:
        return statistics.median(run[key] for run in self.runs)


def routes(ids: dict[str, Any]) -> list[Route]:
    send = json.dumps({"from": "bench-a", "to": "bench-b", "body": TEXT})
    table = [
        Route("baseline: POST one EVALSHA (INCR+HSET+XADD+PUBLISH)", "baseline", "POST", "/send", send),
        Route("baseline: GET /hello", "baseline", "GET", "/hello"),
        Route("GET /healthz", "relay", "GET", "/healthz", versus="baseline: GET /hello"),
        Route("send, admin token", "relay", "POST", "/api/messages", send),
        Route("send, agent token (auth + rate limit)", "relay", "POST", "/api/messages", send, ids["agent_token"]),
    ]
    for size in FANOUT_SIZES:
        body = json.dumps({"from": "bench-a", "to": f"tag:g{size}", "body": TEXT})
        table.append(Route(f"send tag: fan-out to {size}", "relay", "POST", "/api/messages", body))
    table += [
        Route("inbox read (limit 20)", "relay", "GET", f"/api/messages?for={INBOX_AGENT}&limit=20"),
        Route("history read (to=, limit 20)", "relay", "GET", f"/api/messages?to={INBOX_AGENT}&limit=20"),
        Route(
            "claim (holder renews)",
            "relay",
            "POST",
            f"/api/messages/{ids['claim_id']}/claim",
            json.dumps({"agentId": "bench-claimer"}),
        ),
        Route("heartbeat", "relay", "POST", "/api/agents/bench-hb/heartbeat", "{}"),
        Route("task create", "relay", "POST", "/api/tasks", json.dumps({"title": "bench task", "target": "bench-b"})),
        Route("command poll (target, pending)", "relay", "GET", "/api/commands?target=bench-cmd&status=pending"),
    ]
    for route in table:
        if route.server == "relay" and route.versus is None:
            route.versus = table[0].name
    return table


def start_server(name: str, args: list[str], env: dict[str, str], cpus: list[int], tmp: Path, port: int) -> Server:
    log = tmp / f"{name}.log"
    popen = subprocess.Popen(
        [*taskset(cpus), *args], env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    server = Server(name, popen, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"{name} exited:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return server
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not listen in time:\n{log.read_text()[-3000:]}")




def wrk(route: Route, server: Server, redis_port: int, args: argparse.Namespace, load: list[int]) -> dict[str, float]:
    env = dict(os.environ, BENCH_METHOD=route.method, BENCH_PATH=route.path, BENCH_BODY=route.body)
    env["BENCH_TOKEN"] = route.token if route.server == "relay" else ""
    cmd = [*taskset(load), "wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds:g}s", "--timeout", "10s"]
    cmd += ["-s", str(WRK_SCRIPT), server.url]
    cpu0, rcpu0 = cpu_seconds(server.popen.pid), redis_cpu_seconds(redis_port)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.seconds + 30, check=False)
    cpu1, rcpu1 = cpu_seconds(server.popen.pid), redis_cpu_seconds(redis_port)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("SUMMARY ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary (exit {out.returncode}):\n{out.stdout}\n{out.stderr}")
    requests, duration_us, bad_status, socket_errors, p50, p99 = map(int, line.split()[1:])
    if bad_status or socket_errors:
        raise RuntimeError(f"{route.name}: {bad_status} non-2xx answers and {socket_errors} socket errors")
    n = max(requests, 1)
    return {
        "rps": requests / (duration_us / 1e6),
        "p50Ms": p50 / 1000,
        "p99Ms": p99 / 1000,
        "cpuUs": 1e6 * (cpu1 - cpu0) / n,
        "redisUs": 1e6 * (rcpu1 - rcpu0) / n,
    }


def populate(relay: Server) -> dict[str, Any]:
    """The agents, messages and the agent token the routes use."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=relay.url, headers=admin, timeout=30) as http:

        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            r = http.post(path, json=body)
            r.raise_for_status()
            answer: dict[str, Any] = r.json()
            return answer

        for agent in ("bench-a", "bench-b", INBOX_AGENT, "bench-claimer", "bench-hb", "bench-cmd", "bench-sse"):
            post("/api/agents", {"id": agent})
        for size in FANOUT_SIZES:
            for i in range(size):
                post("/api/agents", {"id": f"g{size}-{i}", "tags": [f"g{size}"]})
        for i in range(INBOX_SIZE):
            post("/api/messages", {"from": "bench-a", "to": INBOX_AGENT, "subject": f"m{i}", "body": TEXT})
        claim = post("/api/messages", {"from": "bench-a", "to": "bench-claimer", "claimable": True, "body": TEXT})
        token = post("/api/tokens", {"role": "agent", "sub": "bench-a"})
    return {"agent_token": token["token"], "claim_id": claim["id"]}


def sse_run(server: Server, load: list[int], clients: int, messages: int) -> dict[str, Any]:
    if server.name == "relay":
        events, send_path = "/api/events?types=message.created", "/api/messages"
    else:
        events, send_path = "/events", "/send"
    body = json.dumps({"from": "bench-a", "to": "bench-sse", "subject": "s{i}"})
    cmd = [*taskset(load), sys.executable, "-m", "bench.sse_fanout", "--port", str(server.port)]
    cmd += ["--events-path", events, "--send-path", send_path, "--body", body, "--token", ADMIN_TOKEN]
    cmd += ["--clients", str(clients), "--messages", str(messages)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"SSE client failed ({server.name}, {clients} clients):\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@contextlib.contextmanager
def running(args: argparse.Namespace) -> Iterator[tuple[Server, Server, int, list[int], list[int]]]:
    node_cpus, load_cpus = cores()
    with tempfile.TemporaryDirectory(prefix="relay-wrk-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        store = EmbeddedRedis(tmp / "redis", persistent=False)
        servers: list[Server] = []
        try:
            store.start()
            assert store.proc is not None
            if load_cpus:
                subprocess.run(
                    ["taskset", "-cp", ",".join(map(str, load_cpus)), str(store.proc.pid)],
                    check=True,
                    capture_output=True,
                )
            env = dict(
                os.environ,
                REDIS_URL=store.url,
                PYTHONPATH=str(ROOT),
                AGENT_RELAY_ADMIN_TOKEN=ADMIN_TOKEN,
                AGENT_RELAY_TOKEN_SECRET=TOKEN_SECRET,
                # Counted on every request, never reached: the agent-token row pays for the limit.
                AGENT_RELAY_RATE_LIMIT_AGENT_PER_MINUTE="1000000000",
                AGENT_RELAY_SSE_MAX_PER_TOKEN="0",
                AGENT_RELAY_LOG_FORMAT="text",
            )
            port = free_port()
            baseline_cmd = [sys.executable, "-m", "bench.baseline_app", "--port", str(port)]
            servers.append(start_server("baseline", baseline_cmd, env, node_cpus, tmp, port))
            port = free_port()
            relay_cmd = [sys.executable, "-m", "relay_api.cli", "serve", "--port", str(port), "--log-level", "warning"]
            servers.append(start_server("relay", relay_cmd, env, node_cpus, tmp, port))
            yield servers[0], servers[1], store.port, node_cpus, load_cpus
        finally:
            for server in servers:
                stop(server.popen)
            store.stop()


def run(args: argparse.Namespace) -> dict[str, Any]:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk (bench/run.sh does)")
    # 1,000 SSE clients need more than the common 1,024 descriptors; children inherit the limit.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536) if hard > 0 else 65536, hard))
    with running(args) as (baseline, relay, redis_port, node_cpus, load_cpus):
        by_name = {"baseline": baseline, "relay": relay}
        ids = populate(relay)
        table = [
            r for r in routes(ids) if not args.only or r.server == "baseline" or any(o in r.name for o in args.only)
        ]
        if args.sse_only:
            table = []
        for route in table[:4]:  # warm-up (JIT-free Python still fills caches and pools), not counted
            wrk(route, by_name[route.server], redis_port, argparse.Namespace(**{**vars(args), "seconds": 1}), load_cpus)
        for round_no in range(args.rounds):
            for route in table if round_no % 2 == 0 else table[::-1]:
                route.runs.append(wrk(route, by_name[route.server], redis_port, args, load_cpus))
                last = route.runs[-1]
                print(
                    f"round {round_no + 1}  {route.name:55} {last['rps']:8.0f} req/s  p99 {last['p99Ms']:6.2f} ms",
                    file=sys.stderr,
                    flush=True,
                )
        sse: list[dict[str, Any]] = []
        if not args.no_sse:
            for clients, messages in ((100, 40), (1000, 15)):
                for server in (baseline, relay):
                    result = sse_run(server, load_cpus, clients, messages)
                    result["server"] = server.name
                    sse.append(result)
                    print(
                        f"SSE {server.name:8} {clients:5} clients  p50 {result['p50Ms']} ms  p99 {result['p99Ms']} ms"
                        f"  lost {result['lost']}",
                        file=sys.stderr,
                        flush=True,
                    )
    return {
        "machine": machine(node_cpus, load_cpus),
        "seconds": args.seconds,
        "rounds": args.rounds,
        "connections": args.connections,
        "routes": table,
        "sse": sse,
    }


def machine(node_cpus: list[int], load_cpus: list[int]) -> str:
    load1, _, _ = os.getloadavg()
    pinned = f"server on core {node_cpus}, wrk + Redis on {load_cpus}" if node_cpus else "not pinned"
    return (
        f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), {platform.python_implementation()} "
        f"{platform.python_version()}, {pinned}; load average {load1:.1f} at the end"
    )


def report(result: dict[str, Any]) -> str:
    table: list[Route] = result["routes"]
    by_name = {r.name: r for r in table}
    lines = [
        "# Benchmark results",
        "",
        f"`bash bench/run.sh` — {result['machine']}. Medians of {result['rounds']} rounds of {result['seconds']:g} s,"
        f" wrk with 1 thread and {result['connections']} connections; ratio = req/s ÷ the baseline's, p99 x = p99 ÷"
        " the baseline's; CPU µs = server process (node) and Redis CPU time per request; CPU ratio = the"
        " baseline's node CPU per request ÷ this row's (what a busy neighbour distorts least).",
        "",
        "| endpoint | req/s | p50 ms | p99 ms | ratio | p99 x | node CPU µs | CPU ratio | Redis CPU µs |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in table:
        ratio = p99x = cpu_ratio = ""
        if r.versus and r.versus in by_name:
            base = by_name[r.versus]
            ratio = f"{r.median('rps') / base.median('rps'):.2f}"
            p99x = f"{r.median('p99Ms') / base.median('p99Ms'):.2f}"
            cpu_ratio = f"{base.median('cpuUs') / r.median('cpuUs'):.2f}"
        lines.append(
            f"| {r.name} | {r.median('rps'):,.0f} | {r.median('p50Ms'):.2f} | {r.median('p99Ms'):.2f} | {ratio} |"
            f" {p99x} | {r.median('cpuUs'):.0f} | {cpu_ratio} | {r.median('redisUs'):.0f} |"
        )
    lines += ["", *derived(by_name)]
    if result["sse"]:
        lines += [
            "",
            "SSE: one message at a time to N connected streams (bench/sse_fanout.py, raw sockets), latency from"
            " the POST being written to each client's arrival; baseline = bare Litestar SSE fed by one pub/sub"
            " subscription.",
            "",
            "| SSE | clients | deliveries | lost | p50 ms | p99 ms | p99 x bare |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        bare = {s["clients"]: s for s in result["sse"] if s["server"] == "baseline"}
        for s in result["sse"]:
            base_p99 = bare[s["clients"]]["p99Ms"] if s["clients"] in bare else 0
            ratio = f"{s['p99Ms'] / base_p99:.2f}" if s["server"] == "relay" and base_p99 else ""
            name = "relay /api/events" if s["server"] == "relay" else "bare pub/sub SSE"
            lines.append(
                f"| {name} | {s['clients']:,} | {s['samples']:,} | {s['lost']} | {s['p50Ms']:.2f} | {s['p99Ms']:.2f} |"
                f" {ratio} |"
            )
    lines += ["", two_nodes_note()]
    return "\n".join(lines) + "\n"


def derived(by_name: dict[str, Route]) -> list[str]:
    out: list[str] = []
    admin, agent = by_name.get("send, admin token"), by_name.get("send, agent token (auth + rate limit)")
    if admin and admin.runs and agent and agent.runs:
        over = agent.median("cpuUs") / admin.median("cpuUs") - 1
        out.append(
            f"- Agent token over admin token: {100 * (admin.median('rps') / agent.median('rps') - 1):+.0f} % time per"
            f" request by throughput, {100 * over:+.0f} % node CPU per request."
        )
    sizes = [(1, admin)] + [(n, by_name.get(f"send tag: fan-out to {n}")) for n in FANOUT_SIZES]
    if all(r is not None and r.runs for _, r in sizes):
        per: list[str] = []
        (n0, r0), *rest = sizes
        assert r0 is not None
        for n, r in rest:
            assert r is not None
            wall = (1e6 / r.median("rps") - 1e6 / r0.median("rps")) / (n - n0)
            redis_us = (r.median("redisUs") - r0.median("redisUs")) / (n - n0)
            node_us = (r.median("cpuUs") - r0.median("cpuUs")) / (n - n0)
            per.append(f"{n} recipients: {wall:.1f} µs wall, {redis_us:.1f} µs Redis CPU, {node_us:.1f} µs node CPU")
        out.append(
            "- Fan-out, cost per extra recipient over a direct send (equal figures mean linear): "
            + "; ".join(per)
            + "."
        )
    return out


def two_nodes_note() -> str:
    n = os.cpu_count() or 1
    if n < 4:
        return (
            f"Two API nodes vs one: not measured — this machine has {n} cores, and two nodes plus wrk and Redis"
            " would share them, so the figure would measure the contention, not the scaling."
        )
    return "Two API nodes vs one: not part of this run (bench/cluster_bench.py shows node CPU per send)."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument(
        "--only",
        type=lambda s: [p for p in s.split(";") if p],
        default=[],
        help="semicolon-separated parts of route names to run (the baselines always run)",
    )
    parser.add_argument("--no-sse", action="store_true")
    parser.add_argument("--sse-only", action="store_true", help="only the SSE fan-out figures")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()
    # SIGTERM (a timeout, Ctrl-C in a wrapper) still runs the clean-up of `running`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    result = run(args)
    text = report(result)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()

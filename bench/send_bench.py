"""Message-send throughput and send→SSE latency of one relay node, against a bare Litestar baseline.

    python bench/send_bench.py [--seconds 10] [--connections 32] [--redis-url redis://…]

Without --redis-url it starts its own redis-server (no persistence) on a free port. It then runs, one
after the other so they never share a core: the baseline app (one INCR per request) and one `relay
serve` node, each under uvicorn with the access log off, loaded by a separate load-generator process
(bench/loadgen.py). It counts the Redis commands each send issues (MONITOR, commands run inside Lua
not counted) and measures send→SSE latency with an SSE client on the node: unloaded (one message at
a time) and while the node is saturated with sends.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import msgspec  # noqa: E402

from bench.loadgen import build_request, read_response  # noqa: E402
from bench.procs import cpu_seconds, stop  # noqa: E402
from relay_api.embedded import EmbeddedRedis, free_port  # noqa: E402

TOKEN = "bench-token"
SEND_BODY = json.dumps({"from": "bench", "to": "bench-target", "body": "hello from the load generator " * 3})


def env_for(redis_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "REDIS_URL": redis_url,
            "AGENT_RELAY_ADMIN_TOKEN": TOKEN,
            "PYTHONPATH": str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        }
    )
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT)




def wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not listen in time:\n{log.read_text()}")




def load(
    port: int, path: str, body: str, seconds: float, connections: int, server_pid: int | None = None
) -> dict[str, Any]:
    cpu0 = cpu_seconds(server_pid) if server_pid else 0.0
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "loadgen.py"),
            "--port",
            str(port),
            "--path",
            path,
            "--body",
            body,
            "--token",
            TOKEN,
            "--seconds",
            str(seconds),
            "--connections",
            str(connections),
        ],
        capture_output=True,
        check=True,
        timeout=seconds + 60,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    result["rps"] = result["requests"] / result["seconds"]
    if server_pid:
        # CPU per request is what a noisy machine distorts least (throughput also measures the neighbours).
        result["serverCpuUsPerRequest"] = round(1e6 * (cpu_seconds(server_pid) - cpu0) / max(1, result["requests"]))
    return result


# --- Redis introspection ----------------------------------------------------------------------


def redis_command(port: int, *parts: str) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall((f"*{len(parts)}\r\n" + "".join(f"${len(p)}\r\n{p}\r\n" for p in parts)).encode())
        data = b""
        s.settimeout(1)
        while True:
            try:
                chunk = s.recv(1 << 16)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
            if data.startswith(b"$") and data.count(b"\r\n") >= 2:
                header, _, rest = data.partition(b"\r\n")
                if len(rest) >= int(header[1:]):
                    break
        return data.decode(errors="replace")


def redis_cpu_seconds(port: int) -> float:
    total = 0.0
    for line in redis_command(port, "INFO", "cpu").splitlines():
        if line.startswith(("used_cpu_sys:", "used_cpu_user:")):
            total += float(line.split(":", 1)[1])
    return total


def evalsha_calls(port: int) -> int:
    for line in redis_command(port, "INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_evalsha:"):
            return int(line.split("calls=", 1)[1].split(",", 1)[0])
    return 0


class Monitor:
    """Counts commands clients send to Redis (MONITOR lines; those run inside Lua are left out)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall(b"MONITOR\r\n")
        self.lines: list[str] = []
        self._stop = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        buf = b""
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                chunk = self.sock.recv(1 << 16)
            except TimeoutError:
                continue
            if not chunk:
                break
            buf += chunk
            *done, buf = buf.split(b"\r\n")
            self.lines += [line.decode(errors="replace") for line in done if line.startswith(b"+") and b" [" in line]

    def close(self) -> list[str]:
        time.sleep(0.3)
        self._stop = True
        self._thread.join(2)
        self.sock.close()
        return [line for line in self.lines if " lua]" not in line and "+OK" != line]


# --- latency ----------------------------------------------------------------------------------


class SseProbe:
    """An SSE client that timestamps the arrival of each probe message (by subject)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.arrived: dict[str, float] = {}
        self.waiters: dict[str, asyncio.Future[float]] = {}

    async def connect(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(
            (
                "GET /api/events?types=message.created&agentId=probe HTTP/1.1\r\nHost: bench\r\n"
                f"Authorization: Bearer {TOKEN}\r\nAccept: text/event-stream\r\n\r\n"
            ).encode()
        )
        await reader.readuntil(b"\r\n\r\n")
        await reader.readuntil(b": connected")
        self.writer = writer
        self.task = asyncio.create_task(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        decode = msgspec.json.decode
        while True:
            line = await reader.readline()
            if not line:
                return
            at = line.find(b"data: ")
            if at < 0:
                continue
            now = time.monotonic()
            subject = decode(line[at + 6 :].strip())["data"]["message"]["subject"]
            self.arrived[subject] = now
            waiter = self.waiters.pop(subject, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(now)

    def close(self) -> None:
        self.task.cancel()
        self.writer.close()


async def probe_latency(port: int, count: int, interval: float | None) -> list[float]:
    """Send `count` probe messages; unloaded (interval None: one at a time) or paced every `interval` s."""
    sse = SseProbe(port)
    await sse.connect()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sent: dict[str, float] = {}
    loop = asyncio.get_running_loop()
    try:
        for i in range(count):
            subject = f"p{i}"
            body = json.dumps({"from": "probe", "to": "probe-target", "subject": subject}).encode()
            waiter = loop.create_future()
            sse.waiters[subject] = waiter
            sent[subject] = time.monotonic()
            writer.write(build_request("127.0.0.1", port, "/api/messages", body, TOKEN))
            assert await read_response(reader) == 201
            if interval is None:
                await asyncio.wait_for(waiter, 10)
            else:
                await asyncio.sleep(max(0.0, sent[subject] + interval - time.monotonic()))
        deadline = time.monotonic() + 10
        while len(sse.arrived) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        writer.close()
        sse.close()
    return [(sse.arrived[s] - t) * 1000 for s, t in sent.items() if s in sse.arrived]


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"n": len(values), "p50": round(q[49], 2), "p99": round(q[98], 2), "max": round(max(values), 2)}


def latency_under_load(port: int, args: argparse.Namespace) -> tuple[dict[str, float], dict[str, Any]]:
    result: dict[str, Any] = {}

    def run_load() -> None:
        result.update(load(port, "/api/messages", SEND_BODY, args.seconds, args.connections))

    loader = threading.Thread(target=run_load)
    loader.start()
    time.sleep(1.0)  # let the load build up
    probes = int(max(1.0, args.seconds - 2.5) / 0.02)
    latencies = asyncio.run(probe_latency(port, probes, 0.02))
    loader.join()
    return percentiles(latencies), result


# --- main -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis-url", default=None, help="use this Redis instead of starting one (it is written to)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measured run")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=32, help="concurrent keep-alive connections")
    parser.add_argument("--probes", type=int, default=300, help="messages for the unloaded latency run")
    parser.add_argument("--rounds", type=int, default=3, help="throughput runs per target (median reported)")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="relay-bench-"))
    embedded: EmbeddedRedis | None = None
    redis_url = args.redis_url
    if redis_url is None:
        embedded = EmbeddedRedis(tmp / "redis", persistent=False).start()
        redis_url = embedded.url
    redis_port = int(redis_url.rsplit(":", 1)[1].split("/", 1)[0])
    env = env_for(redis_url)
    figures: dict[str, Any] = {
        "machine": f"{os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}",
        "connections": args.connections,
        "seconds": args.seconds,
    }
    baseline_port, node_port = free_port(), free_port()
    baseline_log, node_log = tmp / "baseline.log", tmp / "relay.log"
    procs = []
    try:
        procs.append(
            start(
                [sys.executable, str(ROOT / "bench" / "baseline_app.py"), "--port", str(baseline_port)],
                env,
                baseline_log,
            )
        )
        node_cmd = [sys.executable, "-m", "relay_api.cli", "serve", "--port", str(node_port), "--log-level", "warning"]
        procs.append(start(node_cmd, env, node_log))
        wait_port(baseline_port, procs[0], baseline_log)
        wait_port(node_port, procs[1], node_log)
        load(baseline_port, "/incr", SEND_BODY, args.warmup, args.connections)
        load(node_port, "/api/messages", SEND_BODY, args.warmup, args.connections)

        # Throughput: baseline and relay take turns, so a noisy neighbour hurts both alike; medians count.
        baselines, sends = [], []
        for _ in range(args.rounds):
            rcpu0 = redis_cpu_seconds(redis_port)
            base = load(baseline_port, "/incr", SEND_BODY, args.seconds, args.connections, procs[0].pid)
            base["redisCpuUsPerRequest"] = round(1e6 * (redis_cpu_seconds(redis_port) - rcpu0) / base["requests"])
            baselines.append(base)
            calls0, rcpu0 = evalsha_calls(redis_port), redis_cpu_seconds(redis_port)
            send = load(node_port, "/api/messages", SEND_BODY, args.seconds, args.connections, procs[1].pid)
            send["evalshaPerSend"] = round((evalsha_calls(redis_port) - calls0) / send["requests"], 3)
            send["redisCpuUsPerRequest"] = round(1e6 * (redis_cpu_seconds(redis_port) - rcpu0) / send["requests"])
            sends.append(send)
        figures["baselineRuns"] = [round(r["rps"], 1) for r in baselines]
        figures["sendRuns"] = [round(r["rps"], 1) for r in sends]
        figures["baseline"] = sorted(baselines, key=lambda r: r["rps"])[len(baselines) // 2]
        figures["send"] = sorted(sends, key=lambda r: r["rps"])[len(sends) // 2]
        stop(procs[0])

        monitor = Monitor(redis_port)
        sends_counted = 200
        asyncio.run(_sequential_sends(node_port, sends_counted))
        commands = monitor.close()
        figures["redisCommandsPerSend"] = round(len(commands) / sends_counted, 3)
        figures["redisCommandNames"] = sorted({c.split('"')[1].lower() for c in commands if '"' in c})

        figures["latencyUnloadedMs"] = percentiles(asyncio.run(probe_latency(node_port, args.probes, None)))
        figures["latencyUnderLoadMs"], loaded = latency_under_load(node_port, args)
        figures["sendRpsDuringLatencyRun"] = round(loaded["rps"], 1)
    finally:
        for proc in procs:
            stop(proc)
        if embedded:
            embedded.stop()
    figures["ratio"] = round(figures["send"]["rps"] / figures["baseline"]["rps"], 3)
    figures["cpuRatio"] = round(
        figures["baseline"]["serverCpuUsPerRequest"] / max(1, figures["send"]["serverCpuUsPerRequest"]), 3
    )
    report(figures)
    if args.json:
        print(json.dumps(figures))
    return 0


async def _sequential_sends(port: int, count: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = build_request("127.0.0.1", port, "/api/messages", SEND_BODY.encode(), TOKEN)
    for _ in range(count):
        writer.write(request)
        assert await read_response(reader) == 201
    writer.close()


def report(f: dict[str, Any]) -> None:
    b, s = f["baseline"], f["send"]

    def cpu(r: dict[str, Any]) -> str:
        return f"load generator used {100 * r['cpuSeconds'] / r['seconds']:.0f}% of a core"

    print(
        f"machine: {f['machine']}; {f['connections']} connections, {f['seconds']:g} s per run, median of "
        f"{len(f['sendRuns'])} alternating runs (baseline {f['baselineRuns']}, send {f['sendRuns']})"
    )
    print(
        f"baseline (Litestar + 1 INCR):  {b['rps']:8.0f} req/s  {b['serverCpuUsPerRequest']} µs server CPU/request  "
        f"{b['redisCpuUsPerRequest']} µs Redis CPU/request  statuses {b['statuses']}  ({cpu(b)})"
    )
    print(
        f"relay POST /api/messages:      {s['rps']:8.0f} req/s  {s['serverCpuUsPerRequest']} µs server CPU/request  "
        f"{s['redisCpuUsPerRequest']} µs Redis CPU/request  statuses {s['statuses']}  ({cpu(s)})"
    )
    print(f"ratio send/baseline:           {f['ratio']:.2f} throughput, {f['cpuRatio']:.2f} by server CPU per request")
    print(
        f"redis round trips per send:    {f['redisCommandsPerSend']} ({', '.join(f['redisCommandNames'])}); "
        f"EVALSHA per send under load {s['evalshaPerSend']}"
    )
    u, ld = f["latencyUnloadedMs"], f["latencyUnderLoadMs"]
    print(f"send→SSE latency, unloaded:    p50 {u['p50']} ms  p99 {u['p99']} ms  (n={u['n']})")
    print(
        f"send→SSE latency, saturated:   p50 {ld['p50']} ms  p99 {ld['p99']} ms  (n={ld['n']}, "
        f"{f['sendRpsDuringLatencyRun']} sends/s alongside)"
    )


if __name__ == "__main__":
    sys.exit(main())

"""Send→event latency over N connected SSE clients, with a low-overhead asyncio socket client.

    python -m bench.sse_fanout --port P --events-path /api/events?types=message.created \
        --send-path /api/messages --body '{"from":"a","to":"b","subject":"s{i}"}' --token T --clients 100

Opens `--clients` SSE connections (raw sockets, asyncio protocols: no HTTP library, one regex per
chunk), then sends `--messages` messages one at a time over one keep-alive connection, each with
subject `s<i>`, and waits until every client saw it (or `--wait` s passed) before the next. The
latency of one delivery is its arrival on a client minus the moment its POST was written; the
driver runs the same client against the relay and against the bare pub/sub SSE of
bench/baseline_app.py. Prints one JSON line: {"clients", "messages", "samples", "lost", "p50Ms",
"p99Ms", "maxMs"}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loadgen import build_request, read_response

# Both the relay's event (the message inside it) and the baseline's frame carry the subject.
SUBJECT = re.compile(rb'"subject": ?"s(\d+)"')


class Client(asyncio.Protocol):
    def __init__(self, run: Run) -> None:
        self.run = run
        self.tail = b""
        self.seen: set[int] = set()
        self.connected = asyncio.get_running_loop().create_future()
        self.transport: asyncio.WriteTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses; they do write.
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        chunk = self.tail + data
        # A subject split across two reads is found in the next one; `seen` drops the repeat.
        self.tail = chunk[-64:]
        if not self.connected.done() and b": connected" in chunk:
            self.connected.set_result(None)
        for match in SUBJECT.finditer(chunk):
            i = int(match.group(1))
            if i not in self.seen:
                self.seen.add(i)
                self.run.arrived(i, now)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.connected.done():
            self.connected.set_exception(ConnectionError("stream closed before it opened"))


class Run:
    def __init__(self, clients: int) -> None:
        self.clients = clients
        self.sent_at: dict[int, float] = {}
        self.latencies: list[float] = []
        self.counts: dict[int, int] = {}
        self.complete: dict[int, asyncio.Event] = {}

    def arrived(self, i: int, now: float) -> None:
        sent = self.sent_at.get(i)
        if sent is None:
            return
        self.latencies.append((now - sent) * 1000)
        self.counts[i] = self.counts.get(i, 0) + 1
        if self.counts[i] == self.clients:
            self.complete[i].set()


async def main_async(args: argparse.Namespace) -> dict[str, float | int]:
    loop = asyncio.get_running_loop()
    run = Run(args.clients)
    head = f"GET {args.events_path} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n"
    if args.token:
        head += f"Authorization: Bearer {args.token}\r\n"
    request = (head + "\r\n").encode()
    clients: list[Client] = []

    async def open_one() -> None:
        _, client = await loop.create_connection(lambda: Client(run), "127.0.0.1", args.port)
        assert client.transport is not None
        client.transport.write(request)
        await asyncio.wait_for(client.connected, 30)
        clients.append(client)

    # In batches, so the server's accept backlog never overflows.
    for start in range(0, args.clients, 50):
        await asyncio.gather(*(open_one() for _ in range(start, min(args.clients, start + 50))))
    reader, writer = await asyncio.open_connection("127.0.0.1", args.port)
    try:
        await asyncio.sleep(0.2)
        for i in range(args.messages):
            body = args.body.replace("{i}", str(i)).encode()
            run.complete[i] = asyncio.Event()
            run.sent_at[i] = time.monotonic()
            writer.write(build_request("127.0.0.1", args.port, args.send_path, body, args.token))
            status = await asyncio.wait_for(read_response(reader), 10)
            if status != 201:
                raise RuntimeError(f"send answered {status}")
            try:
                await asyncio.wait_for(run.complete[i].wait(), args.wait)
            except TimeoutError:
                pass  # counted as lost below
            await asyncio.sleep(args.gap)
    finally:
        writer.close()
        for client in clients:
            if client.transport is not None:
                client.transport.close()
    expected = args.clients * args.messages
    q = statistics.quantiles(run.latencies, n=100, method="inclusive") if len(run.latencies) > 1 else [0.0] * 99
    return {
        "clients": args.clients,
        "messages": args.messages,
        "samples": len(run.latencies),
        "lost": expected - len(run.latencies),
        "p50Ms": round(q[49], 2),
        "p99Ms": round(q[98], 2),
        "maxMs": round(max(run.latencies, default=0.0), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--events-path", required=True)
    parser.add_argument("--send-path", required=True)
    parser.add_argument("--body", required=True, help="JSON with {i} where the message number goes")
    parser.add_argument("--token", default="")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--messages", type=int, default=30)
    parser.add_argument("--wait", type=float, default=3.0, help="seconds to wait for every client to see a message")
    parser.add_argument("--gap", type=float, default=0.02, help="pause between messages (s)")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(asyncio.wait_for(main_async(args), 240))))


if __name__ == "__main__":
    main()

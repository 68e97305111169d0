"""A lean HTTP/1.1 load generator: N keep-alive connections replaying one pre-built request.

It runs in its own process so it does not share a core's event loop with what it measures, and it
parses only the status line and Content-Length, so it stays far cheaper per request than the server.
Prints one JSON line: {"requests", "seconds", "statuses", "cpuSeconds"}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from collections import Counter


def build_request(host: str, port: int, path: str, body: bytes, token: str) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"content-length:")
    if at < 0:
        raise RuntimeError("response without content-length")
    end = lower.find(b"\r\n", at)
    await reader.readexactly(int(lower[at + 15 : end]))
    return status


async def connection(host: str, port: int, request: bytes, stop_at: float, statuses: Counter[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.monotonic() < stop_at:
            writer.write(request)
            statuses[await read_response(reader)] += 1
    finally:
        writer.close()


async def run(args: argparse.Namespace) -> dict[str, object]:
    body = args.body.encode()
    request = build_request(args.host, args.port, args.path, body, args.token)
    statuses: Counter[int] = Counter()
    started = time.monotonic()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    stop_at = started + args.seconds
    await asyncio.gather(
        *(connection(args.host, args.port, request, stop_at, statuses) for _ in range(args.connections))
    )
    elapsed = time.monotonic() - started
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return {
        "requests": sum(statuses.values()),
        "seconds": elapsed,
        "statuses": {str(k): v for k, v in statuses.items()},
        "cpuSeconds": cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--body", required=True)
    parser.add_argument("--token", default="")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()

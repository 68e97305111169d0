"""Command store figures on a real Redis: create and transition rates, and what a target's queue poll costs.

    python -m bench.commands_queue [--redis-url URL] [--commands N] [--targets T]

Starts its own redis-server when no URL is given (never the one on 6379). The point to check: the
latency of `list(target=X, status="pending")` stays flat as the total number of commands grows,
because it reads only X's queue zset.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from relay_api.embedded import EmbeddedRedis
from relay_model.connection import connect
from relay_model.relay import Relay
from relay_model.settings import Settings


async def _poll_ms(relay: Relay, target: str, rounds: int = 200) -> float:
    samples = []
    for _ in range(rounds):
        t = time.perf_counter()
        await relay.commands.list(target=target, status="pending", limit=100)
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


async def run(url: str, total: int, targets: int) -> None:
    redis = connect(url)
    await redis.flushdb()
    relay = Relay(redis, Settings(redis_url=url))
    sem = asyncio.Semaphore(64)

    async def create(i: int) -> str:
        async with sem:
            return (await relay.commands.create(type="agent.restart", source="bench", target=f"t{i % targets}")).id

    await relay.commands.create(type="agent.restart", source="bench", target="probe")
    base = await _poll_ms(relay, "probe")
    t = time.perf_counter()
    ids = await asyncio.gather(*(create(i) for i in range(total)))
    created = total / (time.perf_counter() - t)

    async def advance(cid: str) -> None:
        async with sem:
            await relay.commands.update(cid, status="succeeded")

    half = ids[: total // 2]
    t = time.perf_counter()
    await asyncio.gather(*(advance(c) for c in half))
    transitioned = len(half) / (time.perf_counter() - t)
    after = await _poll_ms(relay, "probe")
    print(f"commands: {total} over {targets} targets (64 concurrent callers, one process)")
    print(f"create: {created:,.0f}/s   transition to succeeded: {transitioned:,.0f}/s")
    print(f"queue poll of one target (median of 200): {base:.3f} ms with 1 command, {after:.3f} ms with {total + 1}")
    await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis-url")
    parser.add_argument("--commands", type=int, default=20_000)
    parser.add_argument("--targets", type=int, default=500)
    args = parser.parse_args()
    if args.redis_url:
        asyncio.run(run(args.redis_url, args.commands, args.targets))
        return
    with tempfile.TemporaryDirectory(prefix="relay-bench-") as tmp:
        server = EmbeddedRedis(Path(tmp), persistent=False).start()
        try:
            asyncio.run(run(server.url, args.commands, args.targets))
        finally:
            server.stop()


if __name__ == "__main__":
    main()

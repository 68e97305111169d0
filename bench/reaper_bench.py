"""Reaper cost: one pass with 1k and with 100k registered agents, 10 of them expiring each time.

The pass reads only what is due (deadlines live in sorted sets), so both sizes should take about
the same time. Agents are registered with the exact script calls the real store makes
(`AgentStore.register`, recorded and replayed in pipelines); making 10 of them due back-dates their
heartbeat in the record and the deadline index together, as the Lua scripts keep them. Each timed
pass is `reap_once(audit=True)`, the code `POST /api/system/reap` and the worker run: the 10 agents
go stale, then offline, each with its activity entry and events.

    python -m bench.reaper_bench                    # starts its own redis-server
    python -m bench.reaper_bench --redis-url redis://127.0.0.1:6390/0 --sizes 1000 100000 --passes 31

Without --redis-url it starts a throwaway redis-server (not persistent) and stops it at the end.
With --redis-url it FLUSHES that database: never point it at a Redis holding data.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from relay_api.embedded import EmbeddedRedis
from relay_model import keys
from relay_model.agents.agents import AgentStore, RegisterAgentInput
from relay_model.clock import now_ms
from relay_model.connection import connect
from relay_model.relay import Relay, reap_once
from relay_model.settings import Settings

PIPELINE = 2000
WARMUP_PASSES = 5


class _Recorder:
    """Stands in for `Scripts` under a real `AgentStore`: captures the exact script call `register`
    makes (so the stored shape is the real one) to replay many of them in one pipeline."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[Any], list[Any]]] = []

    async def run_checked(self, name: str, keys_: list[Any], args: list[Any]) -> list[Any]:
        self.calls.append((name, list(keys_), list(args)))
        return [1, '{"id":"placeholder","name":"placeholder"}']


async def register_agents(relay: Relay, count: int) -> list[str]:
    ids = [f"bench-{i:06d}" for i in range(count)]
    recorder = _Recorder()
    store = AgentStore(relay.redis, recorder, event_maxlen=relay.settings.event_stream_maxlen)  # type: ignore[arg-type]
    sha = await relay.redis.script_load(relay.scripts.source("agent_register"))
    for start in range(0, count, PIPELINE):
        recorder.calls.clear()
        for agent_id in ids[start : start + PIPELINE]:
            data = RegisterAgentInput(id=agent_id, tags=["bench"], capabilities=["review"], provider="claude")
            await store.register(data)
        pipe = relay.redis.pipeline(transaction=False)
        for _, keys_, args in recorder.calls:
            pipe.evalsha(sha, len(keys_), *keys_, *args)
        for result in await pipe.execute():
            if result[0] != "ok":
                raise RuntimeError(f"register failed: {result}")
    return ids


async def make_due(redis: Redis, ids: list[str], last_seen: int) -> None:
    pipe = redis.pipeline(transaction=False)
    for agent_id in ids:
        pipe.hset(keys.agent(agent_id), "lastSeen", last_seen)
        pipe.zadd(keys.agents_live(), {agent_id: last_seen})
    await pipe.execute()


async def measure(relay: Relay, size: int, due: int, passes: int) -> tuple[float, float, float]:
    await relay.redis.flushdb()
    await relay.bootstrap()
    started = time.perf_counter()
    ids = await register_agents(relay, size)
    built_s = time.perf_counter() - started
    offline_age_ms = int(relay.settings.offline_after_s * 1000) + 1000
    timings = []
    # The first passes warm up (script cache, connections, first-call code paths) and are not timed.
    for n in range(WARMUP_PASSES + passes):
        batch = ids[n * due : (n + 1) * due]
        await make_due(relay.redis, batch, now_ms() - offline_age_ms)
        clock = time.perf_counter()
        report = await reap_once(relay, audit=True)
        elapsed_ms = (time.perf_counter() - clock) * 1000
        if sorted(report.reaped_agent_ids) != sorted(batch):
            raise RuntimeError(f"pass {n} reaped {report.reaped_agent_ids}, expected {batch}")
        if n >= WARMUP_PASSES:
            timings.append(elapsed_ms)
    return statistics.median(timings), min(timings), built_s


async def run(redis_url: str, sizes: list[int], due: int, passes: int) -> None:
    redis = connect(redis_url)
    relay = Relay(redis, Settings(redis_url=redis_url))
    try:
        results = []
        for size in sizes:
            median_ms, min_ms, built_s = await measure(relay, size, due, passes)
            results.append((size, median_ms))
            print(
                f"{size:>7} agents: one reaper pass with {due} expiring = {median_ms:6.2f} ms median, "
                f"{min_ms:6.2f} ms min (of {passes} passes; registering them took {built_s:.1f} s)",
                flush=True,
            )
        if len(results) > 1:
            (small, t_small), (large, t_large) = results[0], results[-1]
            print(f"ratio {large}/{small} agents: {t_large / t_small:.2f}x the time for {large // small}x the agents")
    finally:
        await redis.flushdb()
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", default=None, help="a Redis to use (FLUSHED); default: start one")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--due", type=int, default=10, help="agents expiring in each pass")
    parser.add_argument("--passes", type=int, default=21, help="timed passes per size (median)")
    args = parser.parse_args()
    if args.redis_url:
        asyncio.run(run(args.redis_url, args.sizes, args.due, args.passes))
        return
    with tempfile.TemporaryDirectory(prefix="relay-reaper-bench-") as tmp:
        server = EmbeddedRedis(Path(tmp), persistent=False).start()
        try:
            asyncio.run(run(server.url, args.sizes, args.due, args.passes))
        finally:
            server.stop()


if __name__ == "__main__":
    main()

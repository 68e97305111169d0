"""Redis memory per stored item: messages, agents, activity entries, final tasks and stream events.

For each kind and size (10k and 100k by default) it empties a throwaway redis-server, writes that
many items through the relay's own stores (the real Lua scripts, so every index an item brings is
there too), and reports `INFO memory`'s `used_memory_dataset` after minus before (used memory
without the server's own overhead: client buffers, the script cache), divided by the count. It also
reports `MEMORY USAGE` of one item's own record, so the rest (index entries, inbox entries) is
visible. The figures go into the README's sizing table (Retention and sizing).

    python -m bench.memory_bench                  # 10k and 100k of each kind, ~2-4 minutes on 2 cores
    python -m bench.memory_bench --sizes 1000 --json

What each item is (the shapes a busy relay stores most):
- message: a direct chat message between two of 100 agents, a 100-character body, no payload;
  its hash, msgs_all, by-from/by-to/by-kind and one inbox entry;
- agent: a card with two tags and one capability, registered once; its hash and index entries;
- activity: a `message` entry with a 100-character body and an agent id; its key and two index entries;
- task: a task created with a target, then `done`: hash, two history entries, indexes, the final index;
- event: one entry of an event stream (what `Last-Event-ID` replays; capped per stream by
  AGENT_RELAY_EVENT_RETENTION), the `message.created` event of such a message.
Events are kept out of the other figures (their streams are capped at 1 there): they are bounded by
the stream cap, not by the item count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from relay_api.embedded import EmbeddedRedis
from relay_model import keys
from relay_model.activity import ActivityInput
from relay_model.agents.agents import RegisterAgentInput
from relay_model.connection import connect
from relay_model.messages.messages import SendMessageInput
from relay_model.relay import Relay
from relay_model.settings import Settings
from relay_model.tasks.tasks import NewTask

BODY = ("The build on main is green again; the flaky test was the clock. " * 2)[:100]
CONCURRENCY = 200
PEERS = 100


async def dataset_memory(redis: Redis) -> int:
    """`used_memory_dataset`: used_memory minus Redis's own overhead (client buffers, replication
    backlog, the script cache), so the load's many connections do not count as data."""
    info = await redis.info("memory")
    return int(info["used_memory_dataset"])


async def in_parallel(count: int, make: Callable[[int], Awaitable[Any]]) -> None:
    for start in range(0, count, CONCURRENCY):
        await asyncio.gather(*(make(i) for i in range(start, min(count, start + CONCURRENCY))))


async def load(kind: str, relay: Relay, count: int) -> str:
    """Write `count` items of `kind`; return the key of one item's own record."""
    if kind == "message":

        async def send(i: int) -> None:
            body = SendMessageInput(from_=f"peer-{i % PEERS:03d}", to=f"peer-{(i + 1) % PEERS:03d}", body=BODY)
            await relay.messages.send(body)

        await in_parallel(count, send)
        return keys.message(count // 2)
    if kind == "agent":

        async def register(i: int) -> None:
            await relay.agents.register(
                RegisterAgentInput(id=f"agent-{i:07d}", tags=["team-a", f"shard-{i % 10}"], capabilities=["code"])
            )

        await in_parallel(count, register)
        return keys.agent(f"agent-{count // 2:07d}")
    if kind == "activity":

        async def add(i: int) -> None:
            entry = ActivityInput(kind="message", title="Message sent", body=BODY, agent_id=f"peer-{i % PEERS:03d}")
            await relay.activity.add(entry)

        await in_parallel(count, add)
        return keys.activity(count // 2)
    if kind == "task":

        async def task(i: int) -> None:
            created, _ = await relay.tasks.create(NewTask(title=f"Fix flaky test {i}", target=f"peer-{i % PEERS:03d}"))
            await relay.tasks.set_status(created.id, "done", None, None)

        await in_parallel(count, task)
        return keys.task(count // 2)
    if kind == "event":
        data = json.dumps({"message": {"id": 1, "from": "peer-001", "to": "peer-002", "body": BODY}})

        async def emit(i: int) -> None:
            await relay.events.emit(keys.BUS, "message.created", "peer-001", str(i), data)

        await in_parallel(count, emit)
        return keys.events(keys.BUS)
    raise ValueError(kind)


async def measure(url: str, kind: str, count: int) -> dict[str, Any]:
    redis = connect(url, max_connections=CONCURRENCY + 10)
    try:
        await redis.flushall()
        # Streams capped at 1 except where events are what is measured; no retention cap gets in the way.
        maxlen = count + 1000 if kind == "event" else 1
        settings = Settings(
            redis_url=url, event_stream_maxlen=maxlen, message_max=0, activity_max=0, task_max=0, admin_token="x"
        )
        relay = Relay(redis, settings)
        await relay.bootstrap()
        if kind == "message":  # the peers exist, as in a real relay (their cards are not counted)
            for i in range(PEERS):
                await relay.agents.register(RegisterAgentInput(id=f"peer-{i:03d}"))
        await asyncio.gather(*(redis.ping() for _ in range(CONCURRENCY)))  # the load's connections, open
        await redis.execute_command("MEMORY", "PURGE")
        before = await dataset_memory(redis)
        sample = await load(kind, relay, count)
        await redis.execute_command("MEMORY", "PURGE")
        after = await dataset_memory(redis)
        record = await redis.memory_usage(sample, samples=0)
        per_item = (after - before) / count
        return {
            "kind": kind,
            "count": count,
            "bytesPerItem": round(per_item),
            "recordBytes": (record / count if kind == "event" else record) if record else None,
            "usedMemoryDelta": after - before,
        }
    finally:
        await redis.aclose()


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        server = None
        url = args.redis_url
        if not url:
            server = EmbeddedRedis(Path(tmp), persistent=False).start()
            url = server.url
        try:
            for kind in args.kinds:
                for count in args.sizes:
                    result = await measure(url, kind, count)
                    results.append(result)
                    if not args.json:
                        record = result["recordBytes"]
                        own = f"{record:.0f}" if record is not None else "-"
                        print(
                            f"{kind:9} {count:>8}  {result['bytesPerItem']:>6} B/item  (own record {own} B)", flush=True
                        )
        finally:
            if server:
                server.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--kinds", nargs="+", default=["message", "agent", "activity", "task", "event"])
    parser.add_argument("--redis-url", default="", help="use this Redis (it is FLUSHED) instead of starting one")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

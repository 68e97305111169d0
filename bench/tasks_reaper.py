"""Task reaper steps and claims with 1k and with 100k stored tasks (10 claims expiring each time).

    python -m bench.tasks_reaper

Starts its own redis-server (tests' embedded one) on a free port. Half the tasks are claimed by
1000 agents; one of them goes offline, so the orphan step releases its tasks. The expired-claims
step should cost the same at both sizes (it reads only what is due); the orphan step grows with
the number of agents holding claims, not with the number of tasks.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from relay_api.embedded import EmbeddedRedis
from relay_model.agents.agents import RegisterAgentInput, SessionGuard
from relay_model.clock import now_ms
from relay_model.connection import connect
from relay_model.reaper import ReapReport
from relay_model.relay import Relay
from relay_model.settings import Settings
from relay_model.tasks.reaper import release_expired_task_claims, release_orphaned_tasks
from relay_model.tasks.tasks import NewTask

AGENTS = 1000


async def run(url: str, n: int) -> None:
    redis = connect(url)
    await redis.flushdb()
    relay = Relay(redis, Settings(redis_url=url))
    await relay.bootstrap()
    gate = asyncio.Semaphore(200)

    async def bounded(coro):  # type: ignore[no-untyped-def]
        async with gate:
            return await coro

    tasks = await asyncio.gather(*(bounded(relay.tasks.create(NewTask(title=f"t{i}"))) for i in range(n)))
    ids = [t.id for t, _ in tasks]
    await asyncio.gather(*(bounded(relay.agents.register(RegisterAgentInput(id=f"agent-{i}"))) for i in range(AGENTS)))
    await asyncio.gather(
        *(bounded(relay.tasks.claim(tid, f"agent-{i % AGENTS}", 3_600_000)) for i, tid in enumerate(ids[: n // 2]))
    )
    await asyncio.gather(*(bounded(relay.tasks.claim(tid, "short", 1)) for tid in ids[-10:]))
    await relay.agents.set_status("agent-7", "offline", SessionGuard())
    await asyncio.sleep(0.01)
    report = ReapReport()
    t0 = time.perf_counter()
    await release_expired_task_claims(relay, now_ms(), report)
    t1 = time.perf_counter()
    await release_orphaned_tasks(relay, now_ms(), report)
    t2 = time.perf_counter()
    latencies = []
    for tid in ids[n // 2 : n // 2 + 500]:
        start = time.perf_counter()
        await relay.tasks.claim(tid, "bench", None)
        latencies.append(time.perf_counter() - start)
    latencies.sort()
    print(
        f"{n:>7} tasks: expired-claims step {1000 * (t1 - t0):6.2f} ms (released {len(report.released_task_ids)}); "
        f"orphan step {1000 * (t2 - t1):6.2f} ms ({AGENTS} claimants, released "
        f"{len(report.released_orphaned_task_ids)}); claim p50 {1e6 * latencies[250]:.0f} us "
        f"p99 {1e6 * latencies[495]:.0f} us"
    )
    await redis.flushdb()
    await redis.aclose()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp), persistent=False) as server:
        for n in (1_000, 100_000):
            asyncio.run(run(server.url, n))


if __name__ == "__main__":
    main()

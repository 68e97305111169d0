"""Slot arithmetic and the run-once primitive (fakeredis)."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from relay_model import keys
from relay_worker.slots import (
    MAX_TICKS_PER_SECOND,
    claim_slot,
    interval_slot,
    interval_ticks,
    run_interval_slot,
    run_once,
    ticks_per_second,
)


async def _noop(ctx: dict[str, object]) -> None:
    return None


def test_interval_slots_cover_time_without_gaps() -> None:
    assert interval_slot(12_345, 5) == interval_slot(10_000, 5.0)
    assert interval_slot(14_999, 5).index + 1 == interval_slot(15_000, 5).index
    slot = interval_slot(1_000_250, 0.5)
    assert (slot.index, slot.start_ms, slot.interval_ms) == (2000, 1_000_000, 500)


def test_every_slot_holds_at_least_one_tick() -> None:
    for interval in (0.1, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 5, 60):
        per_second = ticks_per_second(interval)
        assert per_second <= MAX_TICKS_PER_SECOND
        tick_ms = [s * 1000 + p * 1000 // per_second for s in range(30) for p in range(per_second)]
        slots = {interval_slot(t, interval).index for t in tick_ms}
        first, last = interval_slot(0, interval).index, interval_slot(tick_ms[-1], interval).index
        assert slots == set(range(first, last + 1)), interval
    assert ticks_per_second(0.01) == MAX_TICKS_PER_SECOND


def test_interval_ticks_are_unique_arq_crons_at_sub_second_phases() -> None:
    jobs = interval_ticks(_noop, name="reaper", interval_s=0.4, timeout_s=5)
    assert [(j.name, j.microsecond, j.second, j.unique) for j in jobs] == [
        ("reaper:0", 0, None, True),
        ("reaper:1", 333_333, None, True),
        ("reaper:2", 666_666, None, True),
    ]
    assert [j.name for j in interval_ticks(_noop, name="reaper", interval_s=5, timeout_s=5)] == ["reaper:0"]


async def test_run_once_runs_for_one_claimant(fake_redis: Redis) -> None:
    calls: list[str] = []

    async def work(owner: str) -> str:
        await asyncio.sleep(0)
        calls.append(owner)
        return owner

    results = await asyncio.gather(
        *(run_once(fake_redis, "job", "7", f"w{i}", lambda i=i: work(f"w{i}"), ttl_ms=60_000) for i in range(5))
    )
    assert [ran for ran, _ in results].count(True) == 1 and len(calls) == 1
    assert await fake_redis.get(keys.dispatch("job", "7")) == f"{calls[0]} done"
    assert await claim_slot(fake_redis, "job", "8", "w0", 60_000)
    assert not await claim_slot(fake_redis, "job", "8", "w1", 60_000)


async def test_run_interval_slot_drops_misfired_ticks(fake_redis: Redis) -> None:
    async def work(slot: object) -> int:
        return 1

    assert await run_interval_slot(fake_redis, "w", 0, job="j", interval_s=5, fn=work) == (False, None)
    assert await fake_redis.keys("*") == []


async def test_a_job_still_running_in_this_worker_is_not_started_again() -> None:
    from relay_worker.slots import one_at_a_time

    ctx: dict[str, object] = {}
    release = asyncio.Event()
    started: list[str] = []

    async def slow() -> str:
        started.append("slow")
        await release.wait()
        return "done"

    async def other() -> str:
        return "other ran"

    first = asyncio.create_task(one_at_a_time(ctx, "automations", slow, "idle"))
    await asyncio.sleep(0)
    # The same job ticking again meanwhile answers at once; a different job is not held up.
    assert await one_at_a_time(ctx, "automations", slow, "idle") == "idle"
    assert await one_at_a_time(ctx, "callbacks", other, "idle") == "other ran"
    release.set()
    assert await first == "done" and started == ["slow"]
    # Once it finished (or failed) the job runs again.
    assert await one_at_a_time(ctx, "automations", other, "idle") == "other ran"

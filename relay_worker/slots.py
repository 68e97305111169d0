"""Run scheduled work once per slot, across any number of worker replicas.

arq's guarantees alone are not enough (arq 0.28): a cron job's unique id only stops two replicas
from queueing one tick while a copy is queued, running or its result kept (arq keeps no cron result
by default, so a late replica — clock skew, a slow poll — may queue a finished tick again; replicas
whose clocks disagree compute different ids for "the same" tick), a tick whose worker is killed is
not re-run (`max_tries` 1), and an ordinary job killed mid-run is run again. So every
scheduled unit of work here is keyed by a **slot** and claimed with `SET NX` on the relay's own
dispatch key (`keys.dispatch(job, slot)`) before it runs:

- `claim_slot` / `finish_slot` are the primitive: whoever sets the key first runs the slot; anyone
  else (another replica, or arq running the same job twice) sees it taken and does nothing. The
  key records who ran it and whether it finished; it expires after `ttl_ms`.
- `run_once` wraps a coroutine in claim → run → finish. A worker killed between claim and finish
  leaves the key claimed but unfinished: the slot is not re-run, so the work itself must be
  idempotent and level-triggered (the reaper simply finds the same items still due next slot).
- Fixed intervals (`interval_slot`, `interval_ticks`, `run_interval_slot`): slot `n` is
  `[n·interval, (n+1)·interval)`. arq cron has one-second resolution, so `interval_ticks` registers
  `ceil(1/interval)` cron jobs (at most 10) at evenly spaced sub-second phases; every tick maps its
  scheduled time to its slot and tries to claim it. Every slot holds at least one tick, so every
  slot runs once; intervals above a second have several ticks per slot, and a tick that was lost
  (its worker died before claiming) is covered by the next tick of the same slot.
- Misfires: a tick picked up more than `max(interval, 1 s)` after its scheduled time (a backlog, all
  workers down) is dropped, not replayed; the next slot runs on time instead.

Calendar schedules (automations) reuse `run_once` with the cron expression's due time as the slot.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from arq.cron import CronJob, cron
from redis.asyncio import Redis

from relay_model import keys
from relay_model.clock import now_ms

log = logging.getLogger("relay.worker.slots")

T = TypeVar("T")

MAX_TICKS_PER_SECOND = 10
MIN_SLOT_TTL_MS = 60_000


async def claim_slot(redis: Redis, job: str, slot: str, owner: str, ttl_ms: int) -> bool:
    """True for the one caller that claims the slot first, wherever it runs."""
    return bool(await redis.set(keys.dispatch(job, slot), owner, nx=True, px=ttl_ms))


async def finish_slot(redis: Redis, job: str, slot: str, owner: str) -> None:
    """Mark a claimed slot as finished (keeps its expiry). Lets an operator tell a run cut short."""
    await redis.set(keys.dispatch(job, slot), f"{owner} done", xx=True, keepttl=True)


async def run_once(
    redis: Redis, job: str, slot: str, owner: str, fn: Callable[[], Awaitable[T]], *, ttl_ms: int
) -> tuple[bool, T | None]:
    """Run `fn` if this caller wins the slot; `(ran, result)`."""
    if not await claim_slot(redis, job, slot, owner, ttl_ms):
        log.debug("slot %s:%s already taken", job, slot)
        return False, None
    result = await fn()
    await finish_slot(redis, job, slot, owner)
    return True, result


@dataclass(frozen=True, slots=True)
class IntervalSlot:
    index: int
    start_ms: int
    interval_ms: int


def interval_slot(at_ms: int, interval_s: float) -> IntervalSlot:
    interval_ms = max(1, round(interval_s * 1000))
    index = at_ms // interval_ms
    return IntervalSlot(index=index, start_ms=index * interval_ms, interval_ms=interval_ms)


def ticks_per_second(interval_s: float) -> int:
    return max(1, min(MAX_TICKS_PER_SECOND, math.ceil(1 / interval_s - 1e-9)))


def interval_ticks(
    fn: Callable[[dict[str, Any]], Awaitable[Any]], *, name: str, interval_s: float, timeout_s: float
) -> list[CronJob]:
    """arq cron jobs that tick `fn` often enough that every slot of `interval_s` holds a tick.

    `unique=True` (arq's job id `name:<scheduled ms>`) keeps replicas from queueing one tick many
    times; results are kept a minute so a late replica cannot queue a finished tick again.
    """
    per_second = ticks_per_second(interval_s)
    return [
        cron(
            fn,  # type: ignore[arg-type]
            name=f"{name}:{phase}",
            second=None,
            microsecond=phase * 1_000_000 // per_second,
            unique=True,
            timeout=timeout_s,
            keep_result=60,
            max_tries=1,
        )
        for phase in range(per_second)
    ]


def tick_time(ctx: dict[str, Any]) -> int:
    """The time (ms) arq scheduled this job for; the pick-up time when it has none."""
    score = ctx.get("score")
    return int(score) if score else now_ms()


async def run_interval_slot(
    redis: Redis,
    owner: str,
    scheduled_ms: int,
    *,
    job: str,
    interval_s: float,
    fn: Callable[[IntervalSlot], Awaitable[T]],
) -> tuple[bool, T | None]:
    """From a tick scheduled at `scheduled_ms`: run `fn` for the slot holding that time, once across replicas."""
    slot = interval_slot(scheduled_ms, interval_s)
    late_ms = now_ms() - scheduled_ms
    if late_ms > max(slot.interval_ms, 1000):
        log.warning("%s slot %d misfired: tick picked up %d ms late, left to the next slot", job, slot.index, late_ms)
        return False, None
    ttl_ms = max(MIN_SLOT_TTL_MS, 10 * slot.interval_ms)
    return await run_once(redis, job, str(slot.index), owner, lambda: fn(slot), ttl_ms=ttl_ms)


async def one_at_a_time(ctx: dict[str, Any], job: str, fn: Callable[[], Awaitable[T]], idle: T) -> T:
    """Run `fn` unless this worker is still running the same job (then answer `idle` at once).

    Per-second ticks queued while a slow run goes on would otherwise stack up in this process, fill
    arq's `max_jobs` and leave the reaper's ticks waiting until they misfire. Other replicas may still
    run the job meanwhile; the job itself is safe for that.
    """
    running: set[str] = ctx.setdefault("running_jobs", set())
    if job in running:
        return idle
    running.add(job)
    try:
        return await fn()
    finally:
        running.discard(job)

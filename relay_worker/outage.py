"""Riding out a Redis outage inside a worker: the retry delay, the log, jobs that tolerate it (which
errors mean "Redis is away" is `relay_model.connection.is_outage`).

A worker talks to two Redis roles that may be one server or two: the **queue** Redis (arq's job
queue, `AGENT_RELAY_QUEUE_REDIS_URL`) and the **data** Redis (`REDIS_URL`, what the jobs work on).
Neither going away may stop the process (relay_worker/worker.py for the queue, `tolerates_outage`
for the jobs): the worker keeps trying and carries on by itself once Redis answers again.

`OutageLog` keeps the log readable through an outage: one warning when a role goes away, a reminder
every `REMIND_S` while it stays away, one line when it is back (with how long it was gone), instead
of a traceback per poll and per job.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Coroutine
from typing import Any, Final, Protocol, TypeVar, cast

from relay_model.connection import is_outage

log = logging.getLogger("relay.worker.outage")

# Retry delays: 0.1 s doubling up to 2 s (with jitter, so replicas do not retry in lockstep). The cap
# bounds how long after Redis returns a worker resumes.
BACKOFF_FIRST_S: Final = 0.1
BACKOFF_MAX_S: Final = 2.0
REMIND_S: Final = 30.0

QUEUE: Final = "queue Redis"
DATA: Final = "data Redis"

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Job(Protocol[T_co]):
    """An arq job function as arq's `cron` takes it (it names jobs by `__qualname__`)."""

    __qualname__: str

    def __call__(self, ctx: dict[str, Any]) -> Coroutine[Any, Any, T_co]: ...


def backoff_s(attempt: int) -> float:
    """The delay before retry number `attempt` (1-based)."""
    ceiling: float = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2.0 ** min(attempt - 1, 16))
    jitter: float = random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret
    return ceiling * jitter


class OutageLog:
    """Per Redis role: when it went away and how many tries failed since (monotonic clock)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._since: dict[str, float] = {}
        self._tries: dict[str, int] = {}
        self._reminded: dict[str, float] = {}

    def is_down(self, role: str) -> bool:
        return role in self._since

    def down(self, role: str, exc: BaseException) -> float:
        """Record a failed try; returns how long to wait before the next one."""
        now = self._clock()
        if role not in self._since:
            self._since[role] = self._reminded[role] = now
            log.warning("%s unreachable (%s: %s); retrying until it is back", role, type(exc).__name__, exc)
        elif now - self._reminded[role] >= REMIND_S:
            self._reminded[role] = now
            log.warning("%s still unreachable after %.0f s (%s)", role, now - self._since[role], exc)
        tries = self._tries[role] = self._tries.get(role, 0) + 1
        return backoff_s(tries)

    def up(self, role: str) -> float | None:
        """Record a success; returns how long the role was away when this ends an outage."""
        since = self._since.pop(role, None)
        if since is None:
            return None
        self._tries.pop(role, None)
        self._reminded.pop(role, None)
        gone = self._clock() - since
        log.warning("%s is back after %.1f s; resuming", role, gone)
        return gone


def tolerates_outage(fn: Callable[[dict[str, Any]], Coroutine[Any, Any, T]]) -> Job[T | None]:
    """A job that answers None while the data Redis is away instead of failing with a traceback.

    Every job here is level-triggered (the next tick finds the same work still due), so a tick lost
    to an outage loses nothing. Outside a `RelayWorker` (no `outages` in ctx) errors propagate.
    """

    @functools.wraps(fn)
    async def run(ctx: dict[str, Any]) -> T | None:
        outages: OutageLog | None = ctx.get("outages")
        try:
            result = await fn(ctx)
        except Exception as exc:
            if outages is None or not is_outage(exc):
                raise
            outages.down(DATA, exc)
            return None
        if outages is not None:
            outages.up(DATA)
        return result

    return cast(Job[T | None], run)

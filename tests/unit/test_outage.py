"""Outage handling pieces on their own: backoff, the outage log, job tolerance, arq's leaked job slot,
stale cron entries, and `relay dev`'s restart policy (fake clock, fake processes)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

import pytest
from arq.cron import cron
from redis.exceptions import ClusterDownError, ResponseError, WatchError
from redis.exceptions import ConnectionError as RedisConnectionError

from relay_api import supervise
from relay_api.embedded import free_port
from relay_model.connection import is_outage
from relay_model.reaper import PassReport, ReapStep, run_pass
from relay_worker.outage import BACKOFF_MAX_S, DATA, OutageLog, backoff_s, tolerates_outage
from relay_worker.worker import CRON_LATE, RelayWorker, queue_pool


def test_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    for attempt in range(1, 30):
        ceiling = min(BACKOFF_MAX_S, 0.1 * 2 ** (attempt - 1))
        assert ceiling / 2 <= backoff_s(attempt) <= ceiling
    assert backoff_s(1) <= 0.1 and backoff_s(100) <= BACKOFF_MAX_S


def test_a_connection_lost_while_watching_is_an_outage_and_a_lost_race_is_not() -> None:
    def watch_error_during(exc: BaseException | None) -> WatchError:
        try:
            try:
                if exc is not None:
                    raise exc
                raise WatchError("Watched variable changed.")
            except (RedisConnectionError, WatchError):
                # What redis-py's pipeline does when the connection of a WATCH dies.
                raise WatchError("A ConnectionError occurred on while watching one or more keys") from None
        except WatchError as caught:
            return caught

    assert is_outage(RedisConnectionError("refused")) and is_outage(ConnectionRefusedError())
    assert is_outage(watch_error_during(RedisConnectionError("reset")))
    assert not is_outage(WatchError("Watched variable changed."))
    assert is_outage(ClusterDownError("CLUSTERDOWN The cluster is down"))
    assert not is_outage(ResponseError("NOSCRIPT"))


def test_outage_log_warns_once_reminds_and_reports_the_length(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    outages = OutageLog(clock=lambda: now[0])
    caplog.set_level(logging.WARNING, "relay.worker.outage")
    assert outages.up(DATA) is None  # nothing was down: nothing said
    for _ in range(50):
        outages.down(DATA, RedisConnectionError("refused"))
        now[0] += 1
    assert outages.is_down(DATA)
    assert outages.up(DATA) == 50.0
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("data Redis unreachable (ConnectionError: refused)")
    assert lines[1].startswith("data Redis still unreachable after 30 s")
    assert lines[2] == "data Redis is back after 50.0 s; resuming"
    assert len(lines) == 3
    assert not outages.is_down(DATA)


async def test_a_tolerant_job_skips_an_outage_but_not_a_bug() -> None:
    calls: list[str] = []

    @tolerates_outage
    async def job(ctx: dict[str, Any]) -> str:
        calls.append(ctx["mode"])
        if ctx["mode"] == "down":
            raise RedisConnectionError("refused")
        if ctx["mode"] == "bug":
            raise ResponseError("ERR wrong number of arguments")
        return "ran"

    outages = OutageLog()
    assert job.__qualname__.endswith("job")  # arq names cron jobs by it
    assert await job({"mode": "down", "outages": outages}) is None
    assert outages.is_down(DATA)
    assert await job({"mode": "ok", "outages": outages}) == "ran"
    assert not outages.is_down(DATA)
    with pytest.raises(ResponseError):
        await job({"mode": "bug", "outages": outages})
    with pytest.raises(RedisConnectionError):  # outside a RelayWorker nothing is swallowed
        await job({"mode": "down"})


async def _noop(ctx: dict[str, Any]) -> None:
    return None


def _worker(url: str, **kwargs: Any) -> RelayWorker:
    return RelayWorker(
        functions=[],
        cron_jobs=[cron(_noop, second=set(range(60)), unique=False)],  # type: ignore[arg-type]
        redis_pool=queue_pool(url, "test:queue"),
        queue_name="test:queue",
        handle_signals=False,
        max_jobs=3,
        **kwargs,
    )


async def test_a_job_start_that_hits_a_dead_redis_gives_its_slot_back() -> None:
    worker = _worker(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    for _ in range(10):  # more than max_jobs: without the fix the fourth call would block for good
        with pytest.raises(RedisConnectionError):
            await asyncio.wait_for(worker.start_jobs([b"job-1"]), 5)
    assert worker.job_counter == 0 and worker.tasks == {}
    await worker.pool.aclose()


async def test_a_cron_entry_left_far_behind_skips_to_its_next_run(redis_url: str) -> None:
    worker = _worker(redis_url)
    (job,) = worker.cron_jobs
    now = datetime.now(tz=worker.timezone)
    job.next_run = now - timedelta(seconds=40)  # the loop could not enqueue for 40 s
    await worker.run_cron(now, 0.5)
    assert job.next_run is not None and now < job.next_run <= now + timedelta(seconds=2)
    # At most the next run was enqueued (when it falls in this poll's window), none of the 40 missed.
    skipped = await worker.pool.zcard("test:queue")
    assert skipped <= 1
    # Just late (a slow poll) is not skipped: that tick is still enqueued.
    job.next_run = now - CRON_LATE / 2
    await worker.run_cron(now, 0.5)
    assert job.next_run > now - CRON_LATE / 2
    assert await worker.pool.zcard("test:queue") == skipped + 1
    await worker.pool.delete("test:queue")
    await worker.pool.aclose()


class FakeProc:
    def __init__(self) -> None:
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode

    def die(self, code: int = -9) -> None:
        self.returncode = code


def test_a_dead_child_is_restarted_with_growing_delays_and_given_up_on_when_it_cannot_stay_up(
    capsys: pytest.CaptureFixture[str],
) -> None:
    started: list[FakeProc] = []

    def start() -> Any:
        started.append(FakeProc())
        return started[-1]

    child = supervise.Child("worker", start)
    child.start(0.0)
    t = 100.0  # ran long enough to count as stable
    assert child.tend(t)
    started[-1].die()
    assert child.tend(t) and len(started) == 1  # restart scheduled, not yet due
    assert child.tend(t + supervise.RESTART_FIRST_S) and len(started) == 2
    delays = []
    for _ in range(supervise.GIVE_UP_AFTER - 2):  # then it dies right after each start
        started[-1].die()
        child.tend(t)
        assert child.restart_at is not None
        delays.append(child.restart_at - t)
        t = child.restart_at
        assert child.tend(t)
    assert delays == [2.0, 4.0, 8.0]
    started[-1].die()
    assert not child.tend(t)  # the fifth quick death in a row: relay dev stops
    err = capsys.readouterr().err
    assert "relay dev: worker exited (code -9); restarting it in 1 s" in err
    assert "relay dev: worker restarted" in err
    assert "giving up" in err


def test_a_reaper_pass_skips_a_broken_step_but_ends_when_redis_is_away(caplog: pytest.LogCaptureFixture) -> None:
    ran: list[str] = []

    def step(name: str, error: Exception | None) -> ReapStep[None]:
        async def run(relay: None, now: int, report: PassReport) -> None:
            ran.append(name)
            if error is not None:
                raise error

        return ReapStep(name=name, run=run)

    async def main(steps: list[ReapStep[None]]) -> None:
        await run_pass(None, steps, activity=None, audit=False)  # type: ignore[arg-type]

    with caplog.at_level(logging.ERROR, logger="relay.reaper"):
        asyncio.run(main([step("bug", ValueError("bad")), step("next", None)]))
    assert ran == ["bug", "next"] and "reaper step bug failed" in caplog.text
    ran.clear()
    caplog.clear()
    # The worker's job wrapper turns this into one outage warning instead of a traceback per step.
    with pytest.raises(RedisConnectionError):
        asyncio.run(main([step("first", RedisConnectionError("refused")), step("next", None)]))
    assert ran == ["first"] and caplog.text == ""

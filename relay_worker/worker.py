"""The relay's arq worker: arq's `Worker`, made to outlive its queue Redis.

arq 0.28 lets any Redis error escape its poll loop, so the process exits (code 1) the moment Redis
drops and stays down. `RelayWorker` changes four things and nothing else:

- `main` waits (with backoff) for the queue Redis before starting, then polls; a poll that fails
  because Redis is away waits a backoff delay (relay_worker/outage.py) and polls again, forever.
- `start_jobs`: arq counts a job as started before its first Redis call; when that call fails the
  count (and a semaphore slot) would leak, and after `max_jobs` leaks the worker would take no job
  again. The count is given back.
- `run_cron`: a cron entry whose next run lies well in the past (the loop could not enqueue while
  Redis was away) moves on to the next future run instead of enqueueing every missed tick one poll
  at a time, which would keep the reaper's ticks late (misfires) for as long again as the outage.
  What a missed slot means is decided where it belongs: the reaper simply runs its next slot, the
  automations' misfire policy (relay_model/automations/schedule.py) makes one catch-up run.
- `close` (shutdown) does not fail while Redis is away, so SIGTERM during an outage still exits 0
  and still runs `on_shutdown`.

The queue pool has bounded socket timeouts, so a Redis that stops answering (rather than refusing)
is an outage too instead of a poll hung forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import datetime, timedelta
from typing import Any, Final

from arq.connections import ArqRedis
from arq.utils import poll
from arq.worker import Worker
from redis.asyncio import ConnectionPool

from relay_model.connection import OUTAGE_ERRORS, is_outage
from relay_worker.outage import QUEUE, OutageLog

log = logging.getLogger("relay.worker")

# A cron entry more than this overdue is skipped to its next future run (see the module docstring).
CRON_LATE: Final = timedelta(seconds=2)


def queue_pool(url: str, queue_name: str) -> ArqRedis:
    """arq's client for the queue Redis, with the timeouts relay_model.connection uses for data."""
    pool = ConnectionPool.from_url(url, socket_timeout=5.0, socket_connect_timeout=2.0, health_check_interval=30)
    return ArqRedis(pool, default_queue_name=queue_name)


class RelayWorker(Worker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outages = OutageLog()
        # Jobs see it too (relay_worker.outage.tolerates_outage) and report the data Redis there.
        self.ctx["outages"] = self.outages

    async def main(self) -> None:
        assert not self.burst, "RelayWorker runs until stopped"
        await self._wait_for_queue()
        log.info("polling %s for %d functions", self.queue_name, len(self.functions))
        self.ctx["redis"] = self.pool
        if self.on_startup:
            await self.on_startup(self.ctx)
        async for _ in poll(self.poll_delay_s):
            await self._poll_iteration()

    async def _wait_for_queue(self) -> None:
        while True:
            try:
                await self.pool.ping()
            except Exception as exc:
                if not is_outage(exc):
                    raise
                await asyncio.sleep(self.outages.down(QUEUE, exc))
            else:
                self.outages.up(QUEUE)
                return

    async def _poll_iteration(self) -> None:
        self._collect_finished()
        try:
            await super()._poll_iteration()
        except Exception as exc:
            if not is_outage(exc):
                raise
            await asyncio.sleep(self.outages.down(QUEUE, exc))
        else:
            self.outages.up(QUEUE)

    def _collect_finished(self) -> None:
        """arq's own collection (end of `_poll_iteration`) re-raises a job task's error, which ends the
        loop. A job task fails that way when it could not record its result because Redis went away:
        that is the outage the loop already handles, not a reason to stop."""
        for job_id, task in list(self.tasks.items()):
            if not task.done():
                continue
            del self.tasks[job_id]
            if task.cancelled():
                continue
            exc = task.exception()
            if exc is not None and not is_outage(exc):
                raise exc
            if exc is not None:
                log.debug("job %s could not record its outcome: %s", job_id, exc)

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        for job_id in job_ids:
            try:
                await super().start_jobs([job_id])
            except Exception:
                # arq took a semaphore slot and counted the job before its first Redis call, and
                # creates the job's task (which gives both back when done) only after its last: an
                # error in between (Redis went away) leaves both taken.
                self._release_sem_dec_counter_on_complete()
                raise

    async def run_cron(self, n: datetime, delay: float, num_windows: int = 2) -> None:
        for job in self.cron_jobs:
            if job.next_run is not None and job.next_run < n - CRON_LATE:
                job.calculate_next(n)
        await super().run_cron(n, delay, num_windows)

    async def close(self) -> None:
        if not self._handle_signals:
            self.handle_sig(signal.SIGUSR1)
        if not self._pool:
            return
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        with contextlib.suppress(*OUTAGE_ERRORS):
            await self.pool.delete(self.health_check_key)
        if self.on_shutdown:
            await self.on_shutdown(self.ctx)
        with contextlib.suppress(*OUTAGE_ERRORS):
            await self.pool.close(close_connection_pool=True)
        self._pool = None

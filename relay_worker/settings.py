"""arq `WorkerSettings`: the relay's cron jobs and job functions."""

from __future__ import annotations

from typing import Any, ClassVar

from arq.connections import RedisSettings
from arq.cron import CronJob, cron

from relay_model.settings import Settings
from relay_worker.jobs.automations import automations_tick
from relay_worker.jobs.callbacks import deliver_callbacks
from relay_worker.jobs.lifecycle import shutdown, startup, worker_heartbeat

SETTINGS = Settings.from_env()


class WorkerSettings:
    functions: ClassVar[list[Any]] = []
    cron_jobs: ClassVar[list[CronJob]] = [
        # Liveness for /api/health; unique per worker, so every replica runs its own.
        cron(worker_heartbeat, second=set(range(0, 60, 5)), run_at_startup=True, unique=False, timeout=10),
        # Every replica ticks; each slot/event still runs once (relay_model.automation_dispatch).
        cron(automations_tick, second=set(range(60)), unique=False, timeout=30),
        # Integration callbacks; leases make overlapping runs on several replicas safe.
        cron(deliver_callbacks, second=set(range(0, 60, 2)), unique=False, timeout=30),
    ]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(SETTINGS.effective_queue_url)
    queue_name = "relay:{sys}:arq:queue"
    health_check_key = "relay:{sys}:arq:health"
    max_jobs = 20
    job_timeout = 60
    keep_result = 60
    handle_signals = True

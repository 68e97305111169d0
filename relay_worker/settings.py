"""arq `WorkerSettings`: the relay's cron jobs and job functions."""

from __future__ import annotations

from typing import Any, ClassVar

from arq.connections import RedisSettings
from arq.cron import CronJob, cron

from relay_model import keys
from relay_model.integrations.callbacks import DELIVERY_BUDGET_S
from relay_model.settings import Settings
from relay_worker.jobs.automations import automations_tick
from relay_worker.jobs.callbacks import deliver_callbacks
from relay_worker.jobs.lifecycle import shutdown, startup
from relay_worker.jobs.reaper import reaper_tick
from relay_worker.slots import interval_ticks

SETTINGS = Settings.from_env()

REAPER_TIMEOUT_S = 60


class WorkerSettings:
    functions: ClassVar[list[Any]] = []
    cron_jobs: ClassVar[list[CronJob]] = [
        *interval_ticks(reaper_tick, name="reaper", interval_s=SETTINGS.reap_interval_s, timeout_s=REAPER_TIMEOUT_S),
        # Every replica ticks; each slot/event still runs once (relay_model.flows.automation_dispatch).
        cron(automations_tick, second=set(range(60)), unique=False, timeout=30),
        # Integration callbacks; leases make overlapping runs on several replicas safe.
        # A run lasts at most the delivery budget plus one request timeout (CallbackStore.deliver_due).
        cron(
            deliver_callbacks,
            second=set(range(0, 60, 2)),
            unique=False,
            timeout=DELIVERY_BUDGET_S + SETTINGS.callback_timeout_s + 5,
        ),
    ]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(SETTINGS.effective_queue_url)
    queue_name = keys.arq_queue()
    health_check_key = keys.arq_health()
    max_jobs = 20
    job_timeout = 60
    keep_result = 60
    # Ticks are picked up at this granularity; keep it finer than the reap interval.
    poll_delay = min(0.5, max(0.05, SETTINGS.reap_interval_s / 4))
    handle_signals = True
    # SIGTERM: stop taking jobs, let running ones finish (a pass takes milliseconds), then exit.
    # Jobs still queued stay in the queue for another replica.
    job_completion_wait = 20

"""`relay worker`: run one arq worker with the relay's settings."""

from __future__ import annotations

import logging
import sys

from relay_model.settings import Settings


def run_worker() -> int:
    from relay_model import logs

    settings = Settings.from_env()
    problem = settings.worker_problem()
    if problem:
        print(f"relay worker: {problem}", file=sys.stderr)
        return 2
    logs.configure(settings.log_format)
    # arq logs two lines per job at INFO; the reaper ticks up to ten times a second, so keep arq's
    # own lines to warnings and rely on the relay's `reaper.pass` and start/stop lines.
    logging.getLogger("arq.worker").setLevel(logging.WARNING)
    from arq.worker import get_kwargs

    from relay_worker.settings import WorkerSettings
    from relay_worker.worker import RelayWorker, queue_pool

    pool = queue_pool(settings.effective_queue_url, WorkerSettings.queue_name)
    RelayWorker(**get_kwargs(WorkerSettings), redis_pool=pool).run()  # type: ignore[arg-type]
    return 0


def check_worker(state_file: str | None) -> int:
    """`relay worker --check`: exit 0 while the worker of this host/container is alive, else 1."""
    import asyncio
    import sys
    from pathlib import Path

    from relay_model.connection import connect
    from relay_model.maintenance import MaintenanceStore
    from relay_model.settings import Settings
    from relay_worker import liveness

    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"invalid configuration: {exc}", file=sys.stderr)
        return 2
    path = Path(state_file) if state_file else liveness.state_file()

    async def run() -> liveness.CheckResult:
        redis = connect(settings.redis_url)
        try:
            return await liveness.check(MaintenanceStore(redis), path)
        finally:
            await redis.aclose()

    result = asyncio.run(run())
    print(result.message, file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1

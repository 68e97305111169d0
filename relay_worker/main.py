"""`relay worker`: run one arq worker with the relay's settings."""

from __future__ import annotations

import logging

from arq.worker import run_worker as arq_run_worker


def run_worker() -> int:
    from relay_model import logs
    from relay_model.settings import Settings

    logs.configure(Settings.from_env().log_format)
    # arq logs two lines per job at INFO; the reaper ticks up to ten times a second, so keep arq's
    # own lines to warnings and rely on the relay's `reaper.pass` and start/stop lines.
    logging.getLogger("arq.worker").setLevel(logging.WARNING)
    from relay_worker.settings import WorkerSettings

    arq_run_worker(WorkerSettings)  # type: ignore[arg-type]
    return 0

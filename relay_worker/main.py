"""`relay worker`: run one arq worker with the relay's settings."""

from __future__ import annotations

import logging
import sys

from arq.worker import run_worker as arq_run_worker

from relay_model.settings import Settings


def run_worker() -> int:
    problem = Settings.from_env().worker_problem()
    if problem:
        print(f"relay worker: {problem}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # arq logs two lines per job at INFO; the reaper ticks up to ten times a second, so keep arq's
    # own lines to warnings and rely on the relay's `reaper.pass` and start/stop lines.
    logging.getLogger("arq.worker").setLevel(logging.WARNING)
    from relay_worker.settings import WorkerSettings

    arq_run_worker(WorkerSettings)  # type: ignore[arg-type]
    return 0

"""`relay worker`: run one arq worker with the relay's settings."""

from __future__ import annotations

import logging

from arq.worker import run_worker as arq_run_worker


def run_worker() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from relay_worker.settings import WorkerSettings

    arq_run_worker(WorkerSettings)  # type: ignore[arg-type]
    return 0

"""Worker start-up, shutdown and liveness heartbeat."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from pathlib import Path
from typing import Any

from relay_model.connection import OUTAGE_ERRORS, connect
from relay_model.flows.automation_dispatch import retire_consumer
from relay_model.maintenance import WORKER_HEARTBEAT_S
from relay_model.relay import Relay
from relay_model.settings import Settings
from relay_worker import liveness

log = logging.getLogger("relay.worker")


async def startup(ctx: dict[str, Any]) -> None:
    settings = Settings.from_env()
    redis = connect(settings.redis_url, cluster=settings.redis_cluster)
    relay = Relay(redis, settings)
    ctx["relay"] = relay
    ctx["worker_id"] = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    state = liveness.state_file()
    liveness.write_state(state, ctx["worker_id"])
    try:
        await relay.maintenance.worker_heartbeat(ctx["worker_id"])
    except OUTAGE_ERRORS as exc:
        # The data Redis may be away while the queue Redis answers: the loop below beats once it is back.
        log.warning("first heartbeat failed (%s); the heartbeat loop keeps trying", exc)
    # The heartbeat runs in this process, not as a queued job: a queued job may be picked up by any
    # replica, which would mark the wrong worker alive.
    ctx["heartbeat_task"] = asyncio.create_task(_heartbeat_loop(relay, ctx["worker_id"], state))
    log.info(
        "worker %s started: reap every %ss, stale after %ss, offline after %ss",
        ctx["worker_id"],
        settings.reap_interval_s,
        settings.stale_after_s,
        settings.offline_after_s,
    )


async def shutdown(ctx: dict[str, Any]) -> None:
    relay: Relay | None = ctx.get("relay")
    if relay is None:
        return
    task: asyncio.Task[None] | None = ctx.get("heartbeat_task")
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    try:
        await relay.maintenance.worker_gone(ctx["worker_id"])
    except Exception:
        log.warning("could not remove this worker's liveness key (it expires by itself)", exc_info=True)
    try:
        await retire_consumer(relay, ctx["worker_id"])
    except Exception:
        log.warning("could not remove this worker's event consumer", exc_info=True)
    await relay.redis.aclose()
    log.info("worker %s stopped", ctx["worker_id"])


async def _heartbeat_loop(relay: Relay, worker_id: str, state: Path) -> None:
    while True:
        await asyncio.sleep(WORKER_HEARTBEAT_S)
        # The file says "this loop still runs" to `relay worker --check` even while Redis is away.
        liveness.touch_state(state)
        try:
            await relay.maintenance.worker_heartbeat(worker_id)
        except Exception as exc:
            # Redis away for a moment: the next beat tries again; /api/health shows the gap.
            log.warning("worker heartbeat failed: %s", exc)

"""Worker start-up, shutdown and liveness heartbeat."""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any

from relay_model import keys
from relay_model.clock import now_ms
from relay_model.connection import connect
from relay_model.relay import Relay
from relay_model.settings import Settings

WORKER_TTL_S = 30


async def startup(ctx: dict[str, Any]) -> None:
    settings = Settings.from_env()
    redis = connect(settings.redis_url)
    ctx["settings"] = settings
    ctx["relay"] = Relay(redis, settings)
    ctx["worker_id"] = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    await worker_heartbeat(ctx)


async def shutdown(ctx: dict[str, Any]) -> None:
    relay: Relay | None = ctx.get("relay")
    if relay is None:
        return
    await relay.redis.zrem(keys.workers(), ctx["worker_id"])
    await relay.redis.aclose()


async def worker_heartbeat(ctx: dict[str, Any]) -> None:
    """Mark this worker alive; /api/health counts workers seen in the last WORKER_TTL_S seconds."""
    relay: Relay = ctx["relay"]
    now = now_ms()
    pipe = relay.redis.pipeline(transaction=False)
    pipe.zadd(keys.workers(), {ctx["worker_id"]: now})
    pipe.zremrangebyscore(keys.workers(), "-inf", now - WORKER_TTL_S * 1000 * 10)
    await pipe.execute()

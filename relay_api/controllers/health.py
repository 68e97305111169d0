"""Health: `/api/health` for people and dashboards; `/healthz` and `/readyz` for probes."""

from __future__ import annotations

import time
from typing import Any

from litestar import Controller, Request, Response, get

from relay_api.auth import PUBLIC
from relay_api.deps import RelayDep
from relay_model import __version__, keys
from relay_model.connection import STORAGE_ERRORS
from relay_model.validation import AGENT_STATUSES

STARTED = time.time()


class HealthController(Controller):
    path = "/health"
    tags = ["system"]

    @get("/", name="system:health", opt={"scope": PUBLIC})
    async def health(self, request: Request[Any, Any, Any], relay: RelayDep) -> Response[dict[str, Any]]:
        """Version, uptime, Redis status, counts. 503 while Redis is unreachable."""
        body: dict[str, Any] = {
            "ok": True,
            "version": __version__,
            "uptimeMs": int((time.time() - STARTED) * 1000),
            "node": request.app.state.node_id,
            "sse": {"clients": len(request.app.state.broker.clients), "subscribed": request.app.state.broker.connected},
        }
        try:
            # One pipelined round trip: dashboards poll this.
            pipe = relay.redis.pipeline(transaction=False)
            pipe.zcard(keys.agents_all())
            for status in AGENT_STATUSES:
                pipe.scard(keys.agents_by("status", status))
            pipe.get(keys.message_seq())
            agents, *by_status, latest = await pipe.execute()
            body["redis"] = {"ok": True}
            body["counts"] = {
                "agents": int(agents),
                "agentsByStatus": dict(zip(AGENT_STATUSES, map(int, by_status), strict=True)),
                "messages": int(latest or 0),
            }
            # Background work: workers seen recently (their heartbeat) and the last periodic reaper pass.
            body["workers"] = await relay.maintenance.workers()
            body["reaper"] = await relay.maintenance.reaper()
        except STORAGE_ERRORS as exc:
            body["ok"] = False
            body["error"] = "storage unavailable"
            body["redis"] = {"ok": False, "error": str(exc)}
            return Response(body, status_code=503)
        return Response(body)


async def probe_alive() -> dict[str, bool]:
    return {"ok": True}

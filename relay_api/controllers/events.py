"""The live event stream (SSE)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, cast

from litestar import Controller, Request, get
from litestar.params import QueryParameter
from litestar.response import ServerSentEvent

from relay_api.deps import PrincipalDep, RelayDep
from relay_api.event_scope import stream_filter
from relay_api.ownership import stream_scope
from relay_api.sse import EVICT_SCOPE_KEY, Broker, sse_eviction_middleware
from relay_api.token_auth import SseLeases, stream_subject
from relay_model.errors import Invalid
from relay_model.events import Cursor


class EventController(Controller):
    path = "/events"
    tags = ["events"]

    @get("/", name="events:stream", opt={"scope": "events:read"}, middleware=[sse_eviction_middleware])
    async def stream(
        self,
        request: Request[Any, Any, Any],
        relay: RelayDep,
        principal: PrincipalDep,
        types: Annotated[
            str | None, QueryParameter(max_length=2000, description="Comma-separated types; `agent.*` matches a prefix")
        ] = None,
        agent_id: Annotated[str | None, QueryParameter(name="agentId", max_length=240)] = None,
        last_event_id: Annotated[str | None, QueryParameter(name="lastEventId", max_length=2000)] = None,
    ) -> ServerSentEvent:
        """Every state change as `data: {type, source, subject, ts, data}`; resumable with `Last-Event-ID`.

        429 when the token already holds `AGENT_RELAY_SSE_MAX_PER_TOKEN` open streams (on any node).
        A token receives only events of areas it may read; an agent token's stream carries only events
        about its own agent, an orchestrator token's about its own card and the agents it manages
        (relay_api/event_scope.py)."""
        broker: Broker = request.app.state.broker
        leases: SseLeases = request.app.state.sse_leases
        scope = await stream_scope(principal, agent_id, relay)
        raw_resume = request.headers.get("last-event-id") or last_event_id
        resume = Cursor.parse(raw_resume)
        if raw_resume and resume is None:
            raise Invalid("Last-Event-ID is not an event id of this relay")
        patterns = [p.strip() for p in (types or "").split(",") if p.strip()]
        subject = stream_subject(principal)
        conn = await leases.open(subject)
        evict = cast("Callable[[], None] | None", request.scope.get(EVICT_SCOPE_KEY))
        client = broker.add(stream_filter(principal, patterns, scope, agent_id), evict)
        try:
            cursor = await broker.start_cursor(resume)
        except BaseException:
            broker.remove(client)
            await leases.release(subject, conn)
            raise
        return ServerSentEvent(
            leases.hold(subject, conn, broker.stream(client, cursor, replay=resume is not None)),
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

"""The activity (audit) feed."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import FromQuery, JSONBody, QueryParameter

from relay_api.deps import PrincipalDep, RelayDep
from relay_api.ownership import require_self
from relay_model.activity import Activity, ActivityInput
from relay_model.validation import MAX_SAFE_INT, ActivityKind


class ActivityController(Controller):
    path = "/activity"
    tags = ["activity"]

    @get("/", name="activity:list", opt={"scope": "activity:read"})
    async def list_activity(
        self,
        relay: RelayDep,
        kind: FromQuery[ActivityKind | None] = None,
        agent_id: Annotated[str | None, QueryParameter(name="agentId", max_length=240)] = None,
        before: Annotated[int | None, QueryParameter(ge=0, le=MAX_SAFE_INT)] = None,
        since: Annotated[int | None, QueryParameter(ge=0, le=MAX_SAFE_INT)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[Activity]:
        """Newest first; `before` pages back, `since` returns only entries newer than an id."""
        return await relay.activity.list(limit=limit, kind=kind, agent_id=agent_id, before=before, since=since)

    @post("/", name="activity:create", opt={"scope": "activity:write"}, status_code=201)
    async def create(
        self, relay: RelayDep, principal: PrincipalDep, data: JSONBody[ActivityInput]
    ) -> Response[Activity | dict[str, bool]]:
        """Record an entry. A repeated `clientId` is not recorded twice (200 `{ok, duplicate}`).
        An agent token records entries only about itself."""
        if data.agent_id is not None:
            await require_self(principal, data.agent_id, relay)
        entry = await relay.activity.add(data)
        if entry is None:
            return Response({"ok": True, "duplicate": True}, status_code=200)
        return Response(entry, status_code=201)

"""The activity (audit) feed."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.openapi import ResponseSpec
from litestar.params import FromQuery, JSONBody, QueryParameter

from relay_api.deps import PrincipalDep, RelayDep
from relay_api.ownership import bound_to_one, default_identity, require_self
from relay_model.activity import Activity, ActivityInput
from relay_model.errors import Forbidden
from relay_model.validation import MAX_SAFE_INT, ActivityKind


# 200 of a repeated clientId.
class Duplicate(msgspec.Struct):
    ok: bool = True
    duplicate: bool = True


# The relay's own entries carry `server-…` clientIds (some predictable, e.g. per message id): a token
# that could take one first would suppress the real entry as a duplicate.
SERVER_CLIENT_PREFIX = "server-"


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

    @post(
        "/",
        name="activity:create",
        opt={"scope": "activity:write"},
        status_code=201,
        responses={
            201: ResponseSpec(Activity, description="The entry was recorded", generate_examples=False),
            200: ResponseSpec(
                Duplicate, description="The clientId was recorded before: nothing new", generate_examples=False
            )
        },
    )
    async def create(
        self, relay: RelayDep, principal: PrincipalDep, data: JSONBody[ActivityInput]
    ) -> Response[Activity | Duplicate]:
        """Record an entry. A repeated `clientId` is not recorded twice (200 `{ok, duplicate}`).
        Agent and orchestrator tokens record entries only about themselves (`agentId` defaults to the
        caller), never `operator` entries, and never with the relay's own `server-` clientIds."""
        if bound_to_one(principal):
            if data.kind == "operator":
                raise Forbidden(f"{principal.role} tokens cannot record operator entries")
            if data.client_id is not None and data.client_id.startswith(SERVER_CLIENT_PREFIX):
                raise Forbidden(f'clientId prefix "{SERVER_CLIENT_PREFIX}" is reserved for the relay\'s own entries')
            data.agent_id = default_identity(principal, data.agent_id)
        if data.agent_id is not None:
            await require_self(principal, data.agent_id, relay)
        entry = await relay.activity.add(data)
        if entry is None:
            return Response(Duplicate(), status_code=200)
        return Response(entry, status_code=201)

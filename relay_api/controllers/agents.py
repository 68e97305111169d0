"""Agents: register, list, read, heartbeat, status (behind the session guard), label, tags, delete."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from relay_api.deps import PrincipalDep, RelayDep, session_guard
from relay_api.ownership import require_registration, require_self
from relay_api.responses import Ok
from relay_model.agents.agents import BUILTIN_AGENTS, AgentCard, RegisterAgentInput
from relay_model.base import Input
from relay_model.errors import Invalid, NotFound
from relay_model.validation import AgentKind, AgentStatus, Id, Label, NonNegativeInt, TagList

BUILTIN_IDS = frozenset(a[0] for a in BUILTIN_AGENTS)
STATUS_TEXT = "status required"
TAGS_TEXT = "tags field required"


class AgentHeartbeatInput(Input):
    status: AgentStatus | None = None
    session_id: Id | None = None
    session_started_at: NonNegativeInt | None = None


class StatusInput(Input):
    status: AgentStatus
    session_id: Id | None = None
    session_started_at: NonNegativeInt | None = None


class LabelInput(Input):
    label: Label | msgspec.UnsetType | None = msgspec.UNSET


class TagsInput(Input):
    tags: TagList | None = None


class AgentResult(msgspec.Struct, rename="camel"):
    agent: AgentCard
    ok: bool = True


class AgentController(Controller):
    path = "/agents"
    tags = ["agents"]

    @post(
        "/",
        name="agents:register",
        opt={"scope": "agents:register"},
        status_code=200,
        responses={201: ResponseSpec(AgentCard, description="A new agent was registered", generate_examples=False)},
    )
    async def register(
        self, relay: RelayDep, principal: PrincipalDep, data: JSONBody[RegisterAgentInput]
    ) -> Response[AgentCard]:
        """Register an agent or update its card (201 when new, 200 when it existed)."""
        await require_registration(principal, data.id, data.orchestrator_id, relay)
        agent, created = await relay.agents.register(data)
        await relay.channels.agent_changed(agent.id)
        return Response(agent, status_code=201 if created else 200)

    @get("/", name="agents:list", opt={"scope": "agents:read"})
    async def list_agents(
        self,
        relay: RelayDep,
        status: FromQuery[AgentStatus | None] = None,
        tag: Annotated[str | None, QueryParameter(max_length=80)] = None,
        kind: FromQuery[AgentKind | None] = None,
        capability: Annotated[str | None, QueryParameter(max_length=80)] = None,
    ) -> list[AgentCard]:
        return await relay.agents.list(status=status, tag=tag, kind=kind, capability=capability)

    @get("/{agent_id:str}", name="agents:get", opt={"scope": "agents:read"})
    async def get_agent(self, relay: RelayDep, agent_id: FromPath[str]) -> AgentCard:
        return await relay.agents.require(agent_id)

    @post("/{agent_id:str}/heartbeat", name="agents:heartbeat", opt={"scope": "agents:heartbeat"}, status_code=200)
    async def heartbeat(
        self,
        request: Request[Any, Any, Any],
        relay: RelayDep,
        principal: PrincipalDep,
        agent_id: FromPath[str],
        data: JSONBody[AgentHeartbeatInput | None] = None,
    ) -> AgentResult:
        await require_self(principal, agent_id, relay)
        body = data or AgentHeartbeatInput()
        guard = session_guard(request, body.session_id, body.session_started_at)
        agent, changed = await relay.agents.heartbeat(agent_id, guard, body.status)
        if changed:
            await relay.channels.agent_changed(agent_id)
        return AgentResult(agent=agent)

    # A body that is not an object (null, [], …) answers the seed's text for the missing field.
    @patch("/{agent_id:str}/status", name="agents:status", opt={"scope": "agents:write", "body_error": STATUS_TEXT})
    async def set_status(
        self,
        request: Request[Any, Any, Any],
        relay: RelayDep,
        principal: PrincipalDep,
        agent_id: FromPath[str],
        data: JSONBody[StatusInput],
    ) -> AgentResult:
        await require_self(principal, agent_id, relay)
        guard = session_guard(request, data.session_id, data.session_started_at)
        agent, previous = await relay.agents.set_status(agent_id, data.status, guard)
        if previous != agent.status:
            await relay.channels.agent_changed(agent_id)
        return AgentResult(agent=agent)

    @patch(
        "/{agent_id:str}/label",
        name="agents:label",
        opt={"scope": "agents:write", "body_error": "label field required (string or null)"},
    )
    async def set_label(
        self, relay: RelayDep, principal: PrincipalDep, agent_id: FromPath[str], data: JSONBody[LabelInput]
    ) -> Ok:
        await require_self(principal, agent_id, relay)
        if data.label is msgspec.UNSET:
            raise Invalid("label field required (string or null)")
        await relay.agents.set_label(agent_id, data.label or None)
        return Ok()

    @patch("/{agent_id:str}/tags", name="agents:tags", opt={"scope": "agents:write", "body_error": TAGS_TEXT})
    async def set_tags(
        self, relay: RelayDep, principal: PrincipalDep, agent_id: FromPath[str], data: JSONBody[TagsInput]
    ) -> AgentCard:
        await require_self(principal, agent_id, relay)
        if data.tags is None:
            raise Invalid(TAGS_TEXT)
        agent, changed = await relay.agents.set_tags(agent_id, data.tags)
        if changed:
            await relay.channels.agent_changed(agent_id)
        return agent

    @delete("/{agent_id:str}", name="agents:delete", opt={"scope": "agents:admin"}, status_code=200)
    async def delete_agent(self, relay: RelayDep, agent_id: FromPath[str]) -> Ok:
        if agent_id in BUILTIN_IDS:
            raise Invalid("built-in agents cannot be deleted")
        deleted = await relay.agents.delete(agent_id)
        if deleted is None:
            raise NotFound("agent not found")
        await relay.channels.agent_deleted(deleted)
        return Ok()

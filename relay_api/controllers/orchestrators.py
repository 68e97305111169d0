"""Orchestrators: register/upsert, list, read, heartbeat, managed agents, spawn, actions, directories, delete."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, delete, get, patch, post
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter

from relay_api.deps import PrincipalDep, RelayDep
from relay_api.ownership import require_orchestrator, require_self
from relay_api.responses import ActionAccepted, Ok, OrchestratorSpawnAccepted
from relay_model.activity import state_activity
from relay_model.agents import directories
from relay_model.agents.orchestrators import (
    ManagedAgentsInput,
    Orchestrator,
    OrchestratorHeartbeatInput,
    RegisterOrchestratorInput,
)
from relay_model.clock import now_ms
from relay_model.errors import NotFound
from relay_model.flows import control

# JSON that is not an object: bodies the seed's heartbeat reads as `{}`.
NotAnObject = list[Any] | str | float | bool | None


class AgentsUpdated(msgspec.Struct, rename="camel"):
    ok: bool
    orchestrator: Orchestrator


class OrchestratorController(Controller):
    path = "/orchestrators"
    tags = ["orchestrators"]

    @post(
        "/",
        name="orchestrators:register",
        opt={"scope": "orchestrators:write"},
        status_code=200,
        responses={
            201: ResponseSpec(Orchestrator, description="A new orchestrator was registered", generate_examples=False)
        },
    )
    async def register(
        self, relay: RelayDep, principal: PrincipalDep, data: JSONBody[RegisterOrchestratorInput]
    ) -> Response[Orchestrator]:
        """Register or update an orchestrator and its agent card `orchestrator:<id>` (201 new, 200 existing)."""
        require_orchestrator(principal, data.id)
        orch, created = await relay.orchestrators.upsert(data)
        await relay.activity.add(
            state_activity(
                "Orchestrator registered" if created else "Orchestrator reconnected",
                client_id=f"server-orchestrator-{orch.id}-registered-{now_ms()}",
                body=orch.hostname,
                meta=orch.id,
                icon="ti-server",
                view="orchestrators",
                agent_id=orch.agent_id,
                metadata={
                    "orchestratorId": orch.id,
                    "hostname": orch.hostname,
                    "providers": orch.providers,
                    "version": orch.version,
                    "protocolVersion": orch.protocol_version,
                },
            )
        )
        return Response(orch, status_code=201 if created else 200)

    @get("/", name="orchestrators:list", opt={"scope": "orchestrators:read"})
    async def list_orchestrators(self, relay: RelayDep) -> list[Orchestrator]:
        return await relay.orchestrators.list()

    @get("/{orchestrator_id:str}", name="orchestrators:get", opt={"scope": "orchestrators:read"})
    async def get_orchestrator(self, relay: RelayDep, orchestrator_id: FromPath[str]) -> Orchestrator:
        return await relay.orchestrators.require(orchestrator_id)

    @post(
        "/{orchestrator_id:str}/heartbeat",
        name="orchestrators:heartbeat",
        opt={"scope": "orchestrators:write"},
        status_code=200,
    )
    async def heartbeat(
        self,
        relay: RelayDep,
        principal: PrincipalDep,
        orchestrator_id: FromPath[str],
        data: JSONBody[OrchestratorHeartbeatInput | NotAnObject] = None,
    ) -> Ok:
        """Keep the orchestrator (and its agent) online; may report runtime version/protocolVersion/gitSha.
        A body that is not an object (null, [], …) counts as `{}`, as in the seed."""
        require_orchestrator(principal, orchestrator_id)
        body = data if isinstance(data, OrchestratorHeartbeatInput) else OrchestratorHeartbeatInput()
        await relay.orchestrators.heartbeat(orchestrator_id, body)
        return Ok()

    @patch("/{orchestrator_id:str}/agents", name="orchestrators:agents", opt={"scope": "orchestrators:write"})
    async def set_agents(
        self,
        relay: RelayDep,
        principal: PrincipalDep,
        orchestrator_id: FromPath[str],
        data: JSONBody[ManagedAgentsInput],
    ) -> AgentsUpdated:
        """Replace the list of agents the orchestrator manages (objects, stored as sent)."""
        require_orchestrator(principal, orchestrator_id)
        orch = await relay.orchestrators.set_agents(orchestrator_id, data.agents)
        return AgentsUpdated(ok=True, orchestrator=orch)

    @post(
        "/{orchestrator_id:str}/spawn",
        name="orchestrators:spawn",
        opt={"scope": "orchestrators:write", "body_error": "provider required"},
        status_code=202,
    )
    async def spawn(
        self,
        relay: RelayDep,
        principal: PrincipalDep,
        orchestrator_id: FromPath[str],
        data: JSONBody[control.OrchestratorSpawnInput],
    ) -> OrchestratorSpawnAccepted:
        """Send an `agent.spawn` command to this orchestrator (cwd defaults to its baseDir)."""
        require_orchestrator(principal, orchestrator_id)
        orch = await relay.orchestrators.require(orchestrator_id)
        command = await control.spawn_on(relay, orch, data)
        return OrchestratorSpawnAccepted(ok=True, orchestrator_id=orch.id, command=command)

    @post(
        "/{orchestrator_id:str}/actions",
        name="orchestrators:actions",
        opt={"scope": "orchestrators:write", "body_error": "action required"},
        status_code=202,
    )
    async def action(
        self,
        relay: RelayDep,
        principal: PrincipalDep,
        orchestrator_id: FromPath[str],
        data: JSONBody[control.ActionInput],
    ) -> ActionAccepted:
        """Restart/shut down one managed agent (`agentId`) or all of them."""
        require_orchestrator(principal, orchestrator_id)
        if data.agent_id:
            # The orchestrator's own route, but the agent must be one it manages.
            await require_self(principal, data.agent_id, relay)
        orch = await relay.orchestrators.require(orchestrator_id)
        command = await control.orchestrator_action(relay, orch, data)
        return ActionAccepted(ok=True, action=data.action, command=command)

    @get("/{orchestrator_id:str}/directories", name="orchestrators:directories", opt={"scope": "orchestrators:read"})
    async def directories(
        self,
        relay: RelayDep,
        principal: PrincipalDep,
        orchestrator_id: FromPath[str],
        path: Annotated[str | None, QueryParameter(max_length=4096)] = None,
    ) -> Response[Any]:
        """Proxy to the orchestrator's `apiUrl` + `/api/directories` (5 s, size cap, no redirects).
        Agent tokens browse no orchestrator's directories; an orchestrator token only its own."""
        require_orchestrator(principal, orchestrator_id)
        orch = await relay.orchestrators.require(orchestrator_id)
        token = await relay.orchestrators.api_token(orch.id)
        status, body = await directories.orchestrator_directories(orch, path, token)
        return Response(body, status_code=status)

    @delete(
        "/{orchestrator_id:str}", name="orchestrators:delete", opt={"scope": "orchestrators:admin"}, status_code=200
    )
    async def delete_orchestrator(self, relay: RelayDep, orchestrator_id: FromPath[str]) -> Ok:
        """Remove the orchestrator and its agent card (event `orchestrator.removed`)."""
        if await relay.orchestrators.delete(orchestrator_id) is None:
            raise NotFound("orchestrator not found")
        return Ok()

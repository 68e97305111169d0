"""Agent control over commands (`/agents/spawn`, `/agents/:id/actions`) and the host directory picker."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from relay_api.deps import PrincipalDep, RelayDep
from relay_api.ownership import require_self, require_unbound
from relay_api.responses import ActionAccepted, SpawnAccepted
from relay_model.agents import directories
from relay_model.flows import control


class AgentControlController(Controller):
    """Shares the `/agents` path with AgentController; these routes only create commands."""

    path = "/agents"
    tags = ["agents"]

    @post(
        "/spawn", name="agents:spawn", opt={"scope": "agents:write", "body_error": "provider required"}, status_code=202
    )
    async def spawn(
        self, relay: RelayDep, principal: PrincipalDep, data: JSONBody[control.AgentSpawnInput]
    ) -> SpawnAccepted:
        """`agent.spawn` command to the first online orchestrator offering the provider."""
        require_unbound(principal, "spawn agents through any orchestrator")
        orch, command = await control.spawn_via_any(relay, data)
        return SpawnAccepted(ok=True, orchestrator_id=orch.id, provider=data.provider, command=command)

    @post(
        "/{agent_id:str}/actions",
        name="agents:actions",
        opt={"scope": "agents:write", "body_error": "action required"},
        status_code=202,
    )
    async def action(
        self, relay: RelayDep, principal: PrincipalDep, agent_id: FromPath[str], data: JSONBody[control.ActionInput]
    ) -> ActionAccepted:
        """Restart/shutdown a runner-managed agent (`agent.restart` / `agent.shutdown` command)."""
        await require_self(principal, agent_id, relay)
        agent = await relay.agents.require(agent_id)
        command = await control.agent_action(relay, agent, data.action)
        return ActionAccepted(ok=True, action=data.action, command=command)


class HostController(Controller):
    path = "/host"
    tags = ["agents"]

    @get("/directories", name="host:directories", opt={"scope": "system:read"})
    async def list_directories(
        self, relay: RelayDep, path: Annotated[str | None, QueryParameter(max_length=4096)] = None
    ) -> directories.HostDirectories:
        """Sub-directories of `path` (absolute, or relative to the base), never outside the configured base."""
        return await directories.host_directories(relay.settings.host_base_dir, path)

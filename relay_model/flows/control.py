"""Spawn and agent actions: the seed's control requests, each sent as a command plus its audit entry.

`POST /api/agents/spawn` and `POST /api/orchestrators/:id/spawn` create an `agent.spawn` command for
the orchestrator's agent; restart/shutdown create `agent.restart` / `agent.shutdown` for the agent
(or for the orchestrator's agent, meaning all its managed agents). Params, audit titles, icons,
views and metadata (with `commandId`) follow the seed exactly; absent optional values are left out
of params and metadata, as JSON.stringify drops `undefined`.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, Protocol

from msgspec import Meta

from relay_model.activity import ActivityStore, state_activity
from relay_model.agents.agents import AgentCard
from relay_model.agents.orchestrators import ApprovalMode, Orchestrator, OrchestratorStore, Provider, first_online
from relay_model.base import Input
from relay_model.clock import now_ms
from relay_model.commands.commands import Command, CommandStore
from relay_model.errors import Invalid, Unprocessable
from relay_model.validation import Label, Path


class Controlling(Protocol):
    """What control requests use of the relay."""

    orchestrators: OrchestratorStore
    commands: CommandStore
    activity: ActivityStore


AGENT_ACTIONS: Final = ("restart", "shutdown")
AgentAction = Literal["restart", "shutdown"]
# `POST /api/agents/spawn` lists codex first (the seed's VALID_AGENT_SPAWN_PROVIDERS + "claude").
SpawnProvider = Literal["codex", "claude"]


class AgentSpawnInput(Input):
    provider: SpawnProvider
    approval_mode: ApprovalMode = "guarded"
    cwd: Path | None = None
    label: Label | None = None


class OrchestratorSpawnInput(Input):
    provider: Provider
    approval_mode: ApprovalMode = "guarded"
    cwd: Path | None = None
    label: Label | None = None
    prompt: Annotated[str, Meta(max_length=4000)] | None = None


class ActionInput(Input):
    action: AgentAction
    agent_id: Annotated[str, Meta(max_length=240)] | None = None


def _present(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _blank_to_none(value: str | None) -> str | None:
    return value if value else None


def agent_can_receive_control_action(agent: AgentCard) -> bool:
    """The seed's `agentCanReceiveControlAction`: only runner-managed agents that are not user/system/channel."""
    return (
        agent.id not in ("user", "system")
        and agent.meta.get("kind") != "channel"
        and "channel" not in agent.tags
        and agent.meta.get("runnerManaged") is True
    )


def _action_type(action: str) -> str:
    return "agent.restart" if action == "restart" else "agent.shutdown"


def _action_icon(action: str) -> str:
    return "ti-refresh" if action == "restart" else "ti-power"


async def spawn_via_any(relay: Controlling, data: AgentSpawnInput) -> tuple[Orchestrator, Command]:
    """`POST /api/agents/spawn`: the first online orchestrator offering the provider gets the command."""
    provider = data.provider
    cwd, label = _blank_to_none(data.cwd), _blank_to_none(data.label)
    orch = first_online(await relay.orchestrators.list(), provider)
    now = now_ms()
    command = await relay.commands.create(
        type="agent.spawn",
        source="system",
        target=orch.agent_id,
        params=_present(
            action="spawn",
            provider=provider,
            cwd=cwd,
            label=label,
            approvalMode=data.approval_mode,
            requestedBy="dashboard",
            requestedAt=now,
        ),
    )
    await relay.activity.add(
        state_activity(
            f"{provider} agent spawn requested (via {orch.id})",
            client_id=f"server-agent-spawn-{provider}-{now}",
            body=cwd or orch.base_dir or "",
            meta=orch.id,
            icon="ti-plus",
            view="agents",
            metadata={
                "provider": provider,
                "orchestratorId": orch.id,
                "approvalMode": data.approval_mode,
                "commandId": command.id,
            },
        )
    )
    return orch, command


async def spawn_on(relay: Controlling, orch: Orchestrator, data: OrchestratorSpawnInput) -> Command:
    """`POST /api/orchestrators/:id/spawn`: cwd defaults to the orchestrator's baseDir."""
    provider = data.provider
    if orch.status != "online":
        raise Unprocessable("orchestrator is offline")
    if provider not in orch.providers:
        raise Invalid(f"orchestrator does not offer provider: {provider}")
    cwd, label, prompt = _blank_to_none(data.cwd), _blank_to_none(data.label), _blank_to_none(data.prompt)
    command = await relay.commands.create(
        type="agent.spawn",
        source="system",
        target=orch.agent_id,
        params=_present(
            action="spawn",
            provider=provider,
            cwd=cwd or orch.base_dir,
            label=label,
            approvalMode=data.approval_mode,
            prompt=prompt,
            requestedBy="dashboard",
            requestedAt=now_ms(),
        ),
    )
    await relay.activity.add(
        state_activity(
            f"Spawn {provider} agent requested",
            client_id=f"server-orchestrator-spawn-{orch.id}-{command.id}",
            body=cwd or orch.base_dir or "",
            meta=orch.id,
            icon="ti-plus",
            view="orchestrators",
            metadata=_present(
                orchestratorId=orch.id,
                provider=provider,
                approvalMode=data.approval_mode,
                label=label,
                commandId=command.id,
            ),
        )
    )
    return command


async def orchestrator_action(relay: Controlling, orch: Orchestrator, data: ActionInput) -> Command:
    """`POST /api/orchestrators/:id/actions`: one managed agent (agentId) or all (the orchestrator's agent)."""
    action, agent_id = data.action, _blank_to_none(data.agent_id)
    command = await relay.commands.create(
        type=_action_type(action),
        source="system",
        target=agent_id or orch.agent_id,
        params=_present(
            action=action, agentId=agent_id, requestedBy="dashboard", requestedAt=now_ms(), orchestratorId=orch.id
        ),
    )
    await relay.activity.add(
        state_activity(
            f"Agent {action} requested",
            client_id=f"server-orchestrator-action-{orch.id}-{action}-{command.id}",
            body=agent_id or "all",
            meta=orch.id,
            icon=_action_icon(action),
            view="orchestrators",
            metadata=_present(orchestratorId=orch.id, action=action, agentId=agent_id, commandId=command.id),
        )
    )
    return command


async def agent_action(relay: Controlling, agent: AgentCard, action: str) -> Command:
    """`POST /api/agents/:id/actions`: restart/shutdown a runner-managed agent."""
    if not agent_can_receive_control_action(agent):
        raise Invalid("agent does not support dashboard control actions")
    command = await relay.commands.create(
        type=_action_type(action),
        source="system",
        target=agent.id,
        params={"action": action, "agentId": agent.id, "requestedBy": "dashboard", "requestedAt": now_ms()},
    )
    await relay.activity.add(
        state_activity(
            "Agent restart requested" if action == "restart" else "Agent shutdown requested",
            client_id=f"server-agent-{agent.id}-action-{action}-{command.id}",
            body=action,
            meta=agent.id,
            icon=_action_icon(action),
            view="agents",
            agent_id=agent.id,
            metadata={"action": action, "commandId": command.id},
        )
    )
    return command

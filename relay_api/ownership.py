"""Ownership (BOLA) checks: a token that speaks for one principal acts only as that principal.

Scopes say *what* a token may do; these checks say *as whom*. An `agent` token (`sub` = agent id)
acts only as its own agent. An `orchestrator` token (`sub` = orchestrator id) acts as itself and as
the agents it manages (cards whose `orchestratorId` is its id). Every other role (admin, operator,
integration, viewer) is not tied to one agent; its scopes alone decide. Controllers call these
helpers wherever a request names the agent it acts as (`from`, `agentId`, `for`, a path id).
"""

from __future__ import annotations

from typing import Any

from relay_api.auth import Principal
from relay_model import keys
from relay_model.agents.orchestrators import agent_id_for
from relay_model.auth.roles import AGENT, ORCHESTRATOR
from relay_model.errors import Forbidden
from relay_model.messages.messages import Message
from relay_model.relay import Relay


def bound_to_one(principal: Principal) -> bool:
    return principal.role in (AGENT, ORCHESTRATOR)


def _refuse(principal: Principal, agent_id: str) -> Forbidden:
    if principal.role == AGENT:
        return Forbidden(f'agent token for "{principal.sub}" cannot act as agent "{agent_id}"')
    return Forbidden(f'orchestrator token for "{principal.sub}" cannot act as agent "{agent_id}": not one it manages')


async def require_self(principal: Principal, agent_id: str, relay: Relay) -> None:
    """403 unless `principal` may act as agent `agent_id`."""
    if not bound_to_one(principal) or agent_id == principal.sub:
        return
    if principal.role == ORCHESTRATOR and agent_id == agent_id_for(principal.sub):
        return
    if principal.role == ORCHESTRATOR:
        card = await relay.agents.get(agent_id)
        if card is not None and card.orchestrator_id == principal.sub:
            return
    raise _refuse(principal, agent_id)


async def require_registration(principal: Principal, agent_id: str, orchestrator_id: str | None, relay: Relay) -> None:
    """Registering (or re-registering) an agent card: an agent token only its own; an orchestrator
    token its own id, or an agent it declares as its own that no other orchestrator manages."""
    if not bound_to_one(principal) or agent_id == principal.sub:
        return
    if principal.role == ORCHESTRATOR and orchestrator_id == principal.sub:
        card = await relay.agents.get(agent_id)
        if card is None or card.orchestrator_id == principal.sub:
            return
    raise _refuse(principal, agent_id)


def acting_agent(principal: Principal, agent_id: str | None) -> str | None:
    """The agent a request acts as when it may leave it out: an agent token's own id."""
    if agent_id is None and principal.role == AGENT:
        return principal.sub
    return agent_id


def require_unbound(principal: Principal, what: str) -> None:
    """Operator actions that no agent or orchestrator token may take (e.g. spawning via any orchestrator)."""
    if bound_to_one(principal):
        raise Forbidden(f"{principal.role} tokens cannot {what}")


async def require_command_party(principal: Principal, command: Any, relay: Relay) -> None:
    """A command is changed by its target (reporting progress) or its source (canceling it)."""
    if not bound_to_one(principal):
        return
    for party in (command.target, command.source):
        try:
            await require_self(principal, party, relay)
            return
        except Forbidden:
            continue
    raise Forbidden(
        f'{principal.role} token for "{principal.sub}" is neither the target nor the source of this command'
    )


def require_orchestrator(principal: Principal, orchestrator_id: str) -> None:
    """For orchestrator routes: an orchestrator token acts only on its own record; agents on none."""
    if principal.role == ORCHESTRATOR and orchestrator_id != principal.sub:
        raise Forbidden(f'orchestrator token for "{principal.sub}" cannot act as orchestrator "{orchestrator_id}"')
    if principal.role == AGENT:
        raise Forbidden("agent tokens cannot act on orchestrators")


def own_event_filter(principal: Principal, agent_id: str | None) -> str | None:
    """An agent token's event stream carries only events about its own agent."""
    if principal.role != AGENT:
        return agent_id
    if agent_id is not None and agent_id != principal.sub:
        raise _refuse(principal, agent_id)
    return principal.sub


def require_history_filter(principal: Principal, from_: str | None, to: str | None) -> None:
    """Message history spans every agent; an agent token reads only its own side of it."""
    if principal.role == AGENT and principal.sub not in (from_, to):
        me = principal.sub
        raise Forbidden(f'agent token for "{me}" may read history only with from={me} or to={me}')


async def require_message_access(principal: Principal, message: Message, relay: Relay) -> None:
    """An agent token reads a message only if it sent it, it was addressed to it, or reached its inbox."""
    if principal.role != AGENT or principal.sub in (message.from_, message.to) or message.to == "broadcast":
        return
    if await relay.redis.zscore(keys.inbox(principal.sub), message.id) is None:
        raise Forbidden(f'agent token for "{principal.sub}" cannot read message {message.id}')


async def require_any_self(principal: Principal, agent_ids: tuple[str, ...], relay: Relay) -> None:
    """403 unless `principal` may act as at least one of `agent_ids` (e.g. either party of a pair)."""
    if not bound_to_one(principal):
        return
    refusal: Forbidden | None = None
    for agent_id in agent_ids:
        try:
            await require_self(principal, agent_id, relay)
            return
        except Forbidden as exc:
            refusal = exc
    if refusal is not None:
        raise refusal

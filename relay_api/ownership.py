"""Ownership (BOLA) checks: a token that speaks for one principal acts only as that principal.

Scopes say *what* a token may do; these checks say *as whom*. An `agent` token (`sub` = agent id)
acts only as its own agent. An `orchestrator` token (`sub` = orchestrator id) acts as itself, as its
own agent card (`orchestrator:<id>`) and as the agents it manages (cards whose `orchestratorId` is
its id). Every other role (admin, operator, integration, viewer) is not tied to one agent; its
scopes alone decide. Controllers call these helpers wherever a request names the agent it acts as
(`from`, `agentId`, `for`, a path id), and for commands, whose rules depend on the command's type
(`COMMAND_RULES`, the table the README shows).

None of these checks costs a Redis round trip for an agent token acting as itself: what it may do
follows from the token. An orchestrator acting for one of its agents costs one card read.
"""

from __future__ import annotations

from typing import Final

from relay_api.auth import Principal
from relay_api.event_scope import StreamScope
from relay_model.agents.orchestrators import agent_id_for
from relay_model.auth.roles import AGENT, ORCHESTRATOR
from relay_model.commands.commands import Command
from relay_model.errors import Forbidden
from relay_model.messages.messages import Message
from relay_model.relay import Relay


def bound_to_one(principal: Principal) -> bool:
    return principal.role in (AGENT, ORCHESTRATOR)


def _who(principal: Principal) -> str:
    return f'{principal.role} token for "{principal.sub}"'


def _refuse(principal: Principal, agent_id: str) -> Forbidden:
    if principal.role == AGENT:
        return Forbidden(f'agent token for "{principal.sub}" cannot act as agent "{agent_id}"')
    return Forbidden(f'orchestrator token for "{principal.sub}" cannot act as agent "{agent_id}": not one it manages')


def own_ids(principal: Principal) -> frozenset[str]:
    """The agent ids a bound token speaks for without asking Redis (an orchestrator's managed agents aside)."""
    if principal.role == ORCHESTRATOR:
        return frozenset({principal.sub, agent_id_for(principal.sub)})
    return frozenset({principal.sub})


async def may_act_as(principal: Principal, agent_id: str, relay: Relay) -> bool:
    """Whether `principal` may act as agent `agent_id` (always, for tokens not bound to one agent)."""
    if not bound_to_one(principal) or agent_id in own_ids(principal):
        return True
    if principal.role == ORCHESTRATOR:
        card = await relay.agents.get(agent_id)
        return card is not None and card.orchestrator_id == principal.sub
    return False


async def require_self(principal: Principal, agent_id: str, relay: Relay) -> None:
    """403 unless `principal` may act as agent `agent_id`."""
    if not await may_act_as(principal, agent_id, relay):
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


def default_identity(principal: Principal, given: str | None) -> str | None:
    """An identity field a bound token left out (activity `agentId`, task `source`): the caller itself
    (an agent token's agent, an orchestrator's own card). Other tokens keep what they sent."""
    if given is not None or not bound_to_one(principal):
        return given
    return principal.sub if principal.role == AGENT else agent_id_for(principal.sub)


def require_unbound(principal: Principal, what: str) -> None:
    """Operator actions that no agent or orchestrator token may take (e.g. spawning via any orchestrator)."""
    if bound_to_one(principal):
        raise Forbidden(f"{principal.role} tokens cannot {what}")


def require_orchestrator(principal: Principal, orchestrator_id: str) -> None:
    """For orchestrator routes: an orchestrator token acts only on its own record; agents on none."""
    if principal.role == ORCHESTRATOR and orchestrator_id != principal.sub:
        raise Forbidden(f'orchestrator token for "{principal.sub}" cannot act as orchestrator "{orchestrator_id}"')
    if principal.role == AGENT:
        raise Forbidden("agent tokens cannot act on orchestrators")


async def require_any_self(principal: Principal, agent_ids: tuple[str, ...], relay: Relay) -> None:
    """403 unless `principal` may act as at least one of `agent_ids` (e.g. either party of a pair)."""
    for agent_id in agent_ids:
        if await may_act_as(principal, agent_id, relay):
            return
    if agent_ids:
        raise _refuse(principal, agent_ids[-1])


# --- mail ------------------------------------------------------------------------------------------


async def require_history_filter(principal: Principal, from_: str | None, to: str | None, relay: Relay) -> None:
    """Message history spans every agent; a bound token reads only its own side of it."""
    if not bound_to_one(principal):
        return
    for party in (from_, to):
        if party and await may_act_as(principal, party, relay):
            return
    if principal.role == AGENT:
        me = principal.sub
        raise Forbidden(f'agent token for "{me}" may read history only with from={me} or to={me}')
    raise Forbidden(f"{_who(principal)} may read history only with from= or to= an agent it acts as")


async def require_message_access(principal: Principal, message: Message, relay: Relay) -> None:
    """A bound token reads a message only if one of its agents sent it or was its addressee, it was
    broadcast, or it reached the inbox of the token's own agent (an orchestrator: its own card's;
    its agents' fan-outs it reads through `GET /api/messages?for=<agent>`)."""
    if not bound_to_one(principal) or message.to == "broadcast":
        return
    if principal.sub in (message.from_, message.to):
        return
    for party in (message.from_, message.to):
        if principal.role == ORCHESTRATOR and await may_act_as(principal, party, relay):
            return
    inbox_of = principal.sub if principal.role == AGENT else agent_id_for(principal.sub)
    if not await relay.messages.in_inbox(inbox_of, message.id):
        raise Forbidden(f'{_who(principal)} cannot read message {message.id}')


def claim_reader(principal: Principal) -> str:
    """Claiming answers a message for the agent named (already checked to be one the token acts as):
    a bound token claims only messages that agent may read — its own, broadcast, or in its inbox.
    The claim script checks that (MessageStore.claim_json); this is the token's description for its
    403, or "" for tokens that read every message."""
    return _who(principal) if bound_to_one(principal) else ""


def require_own_kind(principal: Principal, kind: str) -> None:
    """`system` messages are the relay's own (system broadcasts, notices): a bound token cannot forge one."""
    if kind == "system" and bound_to_one(principal):
        raise Forbidden(f"{principal.role} tokens cannot send system messages")


# --- commands --------------------------------------------------------------------------------------

# Who may address which target, per command type (a prefix ending in "." covers a family). Rows:
#   "spawn"     agent tokens never; an orchestrator only its own agent card (as POST /orchestrators/:id/spawn)
#   "own-agent" the target must be an agent the token acts as (as POST /agents/:id/actions)
#   "operator"  operator/admin only: the areas bound tokens have no write scope for
#   "any"       any target (a request between agents, like a message)
# Operator, admin and other unbound tokens (with commands:write) may send every type anywhere.
COMMAND_RULES: Final[tuple[tuple[str, str], ...]] = (
    ("agent.spawn", "spawn"),
    ("agent.", "own-agent"),
    # An orchestrator types a task.create into the target's terminal exactly as an agent.prompt.
    ("task.create", "own-agent"),
    ("connector.", "operator"),
    ("provider.", "operator"),
    ("", "any"),
)


def command_rule(command_type: str) -> str:
    for prefix, rule in COMMAND_RULES:
        if command_type == prefix or (prefix.endswith(".") and command_type.startswith(prefix)) or not prefix:
            return rule
    return "any"  # pragma: no cover - the table ends with a catch-all


async def require_command_create(principal: Principal, type_: str, source: str, target: str, relay: Relay) -> None:
    """`POST /api/commands`: a bound token sends as itself (`source`) and only what the control routes
    would let it ask for (`COMMAND_RULES`)."""
    if not bound_to_one(principal):
        return
    await require_self(principal, source, relay)
    rule = command_rule(type_)
    if rule == "operator" or (rule == "spawn" and principal.role == AGENT):
        raise Forbidden(f"{principal.role} tokens cannot create {type_} commands")
    if rule == "spawn" and target != agent_id_for(principal.sub):
        own = agent_id_for(principal.sub)
        raise Forbidden(f'{_who(principal)} may send {type_} only to its own orchestrator agent "{own}"')
    if rule == "own-agent":
        await require_self(principal, target, relay)


async def require_command_report(principal: Principal, command: Command, status: str | None, relay: Relay) -> None:
    """`PATCH /api/commands/:id` reports progress or an outcome: only the command's target may (its
    source may only cancel it, as `DELETE` lets it)."""
    if await may_act_as(principal, command.target, relay):
        return
    if await may_act_as(principal, command.source, relay):
        if status == "canceled":
            return
        raise Forbidden(
            f'{_who(principal)} cannot report on command {command.id}: it is addressed to "{command.target}" '
            "(its source may only cancel it)"
        )
    raise Forbidden(f'{_who(principal)} cannot report on command {command.id}: it is addressed to "{command.target}"')


async def require_command_party(principal: Principal, command: Command, relay: Relay) -> None:
    """A command is canceled by its target or its source."""
    for party in (command.target, command.source):
        if await may_act_as(principal, party, relay):
            return
    raise Forbidden(f"{_who(principal)} is neither the target nor the source of this command")


async def require_command_read(principal: Principal, command: Command, relay: Relay) -> None:
    """A bound token reads a command (its params: spawn prompts, provider commands) only as a party."""
    for party in (command.target, command.source):
        if await may_act_as(principal, party, relay):
            return
    raise Forbidden(f"{_who(principal)} cannot read command {command.id}")


async def require_command_listing(principal: Principal, target: str | None, relay: Relay) -> None:
    """A bound token lists only the queue of an agent it acts as (`?target=`)."""
    if not bound_to_one(principal) or (target and await may_act_as(principal, target, relay)):
        return
    if principal.role == AGENT:
        raise Forbidden(f'agent token for "{principal.sub}" may list commands only with target={principal.sub}')
    raise Forbidden(f"{_who(principal)} may list commands only with target= an agent it acts as")


# --- tasks -----------------------------------------------------------------------------------------


def task_actor(principal: Principal, agent_id: str | None) -> str | None:
    """Who changes a task's status. A bound token always acts as one agent (an agent token: itself by
    default), so the task script can hold it to the claim; other tokens may leave it out."""
    agent_id = acting_agent(principal, agent_id)
    if agent_id is None and principal.role == ORCHESTRATOR:
        raise Forbidden("orchestrator tokens must name the agentId that changes the task")
    return agent_id



async def stream_scope(principal: Principal, agent_id: str | None, relay: Relay) -> StreamScope | None:
    """The agents a bound token's event stream is about (relay_api/event_scope.py); None for others.

    An agent token: itself (`agentId` may only name itself). An orchestrator token: the one agent it
    names with `agentId` (its own card or an agent it manages), else its card and every agent it
    manages now or registers later (one read of the agent list when the stream opens)."""
    if not bound_to_one(principal):
        return None
    if agent_id is not None:
        await require_self(principal, agent_id, relay)
        return StreamScope(agents={agent_id})
    if principal.role == AGENT:
        return StreamScope(agents={principal.sub})
    managed = {card.id for card in await relay.agents.list() if card.orchestrator_id == principal.sub}
    return StreamScope(agents=set(own_ids(principal)) | managed, manager=principal.sub, fixed=own_ids(principal))

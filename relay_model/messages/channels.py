"""Channels, their bindings and pool slots.

A channel is a registered agent of kind `channel` (a chat room bridge, a webhook source, …); its
agent id is the channel id. A binding routes the channel's events to a target, given as an
address string the way the seed's `routeTargetFromAddress` reads it: an agent id, `label:<l>`,
`tag:<t>`, `cap:<c>`, `broadcast`, `orchestrator:<id>` or `pool:<p>`.

Pools: a `pool:<p>` binding holds one eligible agent in `poolAgentId`. Eligible for pool p are the
agents whose status is online, idle or busy and that carry the tag `pool:<p>`. The slot stays with
its agent while that agent is eligible; when it goes stale, offline, loses the tag or is deleted,
the slot moves to the eligible agent holding the fewest slots (ties: lowest id) and
`pool.binding_changed` {bindingId, channelId, pool, previousAgentId, newAgentId} is emitted. Each
move is one Lua compare-and-set, so two nodes or reapers never move a slot twice.
"""

from __future__ import annotations

from typing import Final, Literal

import msgspec
from redis.asyncio import Redis

from relay_model import keys
from relay_model.agents.agents import AgentCard
from relay_model.base import Input, Model
from relay_model.clock import now_ms
from relay_model.errors import Invalid
from relay_model.scripts import Scripts
from relay_model.validation import Body, Id, JsonObject, Subject

BINDING_TARGET_TYPES: Final = ("agent", "label", "tag", "capability", "broadcast", "orchestrator", "pool")
BINDING_MODES: Final = ("exclusive", "broadcast")
CHANNEL_DIRECTIONS: Final = ("inbound", "outbound", "both")
BindingTargetType = Literal["agent", "label", "tag", "capability", "broadcast", "orchestrator", "pool"]
BindingMode = Literal["exclusive", "broadcast"]
ChannelDirection = Literal["inbound", "outbound", "both"]

ORCHESTRATOR_UNSUPPORTED = "orchestrator channel targets are not supported yet"
POOL_UNCLAIMED = "pool slot is unclaimed — no eligible agent available"


class RouteTarget(Model):
    type: BindingTargetType
    id: str


class ChannelBinding(Model):
    id: int
    channel_id: str
    target: RouteTarget
    address: str = ""
    mode: BindingMode = "exclusive"
    direction: ChannelDirection = "both"
    pool_agent_id: str | None = None
    created_at: int = 0
    updated_at: int = 0


class PoolChange(Model):
    binding_id: int
    channel_id: str
    pool: str = ""
    previous_agent_id: str | None = None
    new_agent_id: str | None = None


class ChannelSummary(Model):
    """The seed's agentToChannel: a channel agent seen as a channel, with its bindings."""

    id: str
    agent_id: str
    name: str
    status: str
    label: str | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    meta: JsonObject = msgspec.field(default_factory=dict)
    last_seen: int | None = None
    bindings: list[ChannelBinding] = msgspec.field(default_factory=list)


class BindingInput(Input):
    channel_id: Id
    target: Id
    mode: BindingMode = "exclusive"
    direction: ChannelDirection = "both"


class ChannelEventInput(Input):
    body: Body = ""
    subject: Subject | None = None
    payload: JsonObject | None = None
    idempotency_key: Id | None = None


def route_target_from_address(target: str) -> RouteTarget:
    """The seed's routeTargetFromAddress."""
    for prefix, kind in (("pool:", "pool"), ("label:", "label"), ("tag:", "tag"), ("cap:", "capability")):
        if target.startswith(prefix):
            return RouteTarget(type=kind, id=target[len(prefix) :])  # type: ignore[arg-type]
    if target == "broadcast":
        return RouteTarget(type="broadcast", id="broadcast")
    if target.startswith("orchestrator:"):
        return RouteTarget(type="orchestrator", id=target[len("orchestrator:") :])
    return RouteTarget(type="agent", id=target)


def message_target_for(binding: ChannelBinding) -> str:
    """The seed's messageTargetForChannelTarget: where a message through this binding goes."""
    target = binding.target
    if target.type == "orchestrator":
        raise Invalid(ORCHESTRATOR_UNSUPPORTED)
    if target.type == "pool":
        if not binding.pool_agent_id:
            raise Invalid(POOL_UNCLAIMED)
        return binding.pool_agent_id
    if target.type == "label":
        return f"label:{target.id}"
    if target.type == "tag":
        return f"tag:{target.id}"
    if target.type == "capability":
        return f"cap:{target.id}"
    if target.type == "broadcast":
        return "broadcast"
    return target.id


def scoped_idempotency_key(key: str | None, binding: ChannelBinding) -> str | None:
    """The seed's scopedChannelIdempotencyKey: one key per binding, so each route de-duplicates alone."""
    return f"{key}:binding:{binding.id}" if key else None


def agent_to_channel(agent: AgentCard, bindings: list[ChannelBinding]) -> ChannelSummary:
    return ChannelSummary(
        id=agent.id,
        agent_id=agent.id,
        name=agent.name,
        label=agent.label,
        status=agent.status,
        tags=agent.tags,
        meta=agent.meta,
        last_seen=agent.last_seen,
        bindings=bindings,
    )


_decode_binding = msgspec.json.Decoder(ChannelBinding).decode
_decode_change = msgspec.json.Decoder(PoolChange).decode


class ChannelStore:
    def __init__(self, redis: Redis, scripts: Scripts, *, event_maxlen: int) -> None:
        self.redis = redis
        self.scripts = scripts
        self.maxlen = event_maxlen

    async def bind(self, data: BindingInput) -> ChannelBinding:
        target = route_target_from_address(data.target)
        if not target.id:
            raise Invalid("target id required")
        (raw,) = await self.scripts.run_checked(
            "binding_create",
            [
                keys.binding_seq(),
                keys.bindings_all(),
                keys.bindings_of_channel(data.channel_id),
                keys.agent(data.channel_id),
                keys.events(keys.BUS),
                keys.pool_holders(),
                keys.pool_unclaimed(),
            ],
            [now_ms(), data.channel_id, target.type, target.id, data.target, data.mode, data.direction, self.maxlen],
        )
        return _decode_binding(raw)

    async def unbind(self, binding_id: int) -> ChannelBinding:
        (raw,) = await self.scripts.run_checked(
            "binding_delete",
            [
                keys.binding(binding_id),
                keys.bindings_all(),
                keys.events(keys.BUS),
                keys.pool_holders(),
                keys.pool_unclaimed(),
            ],
            [binding_id, self.maxlen],
        )
        return _decode_binding(raw)

    async def _get_many(self, ids: list[str]) -> list[ChannelBinding]:
        if not ids:
            return []
        raws = await self.scripts.run("bindings_get", [keys.binding(i) for i in ids], [])
        return [_decode_binding(r) for r in raws if r]

    async def bindings_by_channel(self, channel_ids: list[str]) -> dict[str, list[ChannelBinding]]:
        pipe = self.redis.pipeline(transaction=False)
        for cid in channel_ids:
            pipe.zrange(keys.bindings_of_channel(cid), 0, -1)
        id_lists = await pipe.execute()
        everything = await self._get_many([i for ids in id_lists for i in ids])
        out: dict[str, list[ChannelBinding]] = {cid: [] for cid in channel_ids}
        for binding in everything:
            out.setdefault(binding.channel_id, []).append(binding)
        return out

    async def _evaluate(self, mode: str, scope_key: str, agent_id: str = "") -> tuple[list[PoolChange], list[str]]:
        changes, bindings = await self.scripts.run(
            "pool_evaluate",
            [keys.events(keys.BUS), keys.pool_holders(), keys.pool_unclaimed(), scope_key],
            [mode, now_ms(), self.maxlen, agent_id],
        )
        return [_decode_change(c) for c in changes], bindings

    async def routes(self, channel_id: str) -> list[ChannelBinding]:
        """The channel's bindings with their pool slots re-checked first (the seed's evaluatePoolBindings
        before resolveChannelRoutes), in one round trip."""
        _, raws = await self._evaluate("channel", keys.bindings_of_channel(channel_id))
        return [_decode_binding(r) for r in raws]

    async def agent_changed(self, agent_id: str) -> list[PoolChange]:
        """Re-check only the slots this agent holds and those of the pools its tags name."""
        changes, _ = await self._evaluate("agent", keys.pool_unclaimed(), agent_id)
        return changes

    async def agent_deleted(self, agent: AgentCard) -> None:
        """A deleted agent gives up its pool slots; a deleted channel takes its bindings with it."""
        await self.agent_changed(agent.id)
        if agent.kind == "channel":
            for binding in await self.list(agent.id):
                await self.unbind(binding.id)

    async def evaluate_due(self) -> list[PoolChange]:
        """Reaper: slots held by agents that are no longer live, and unclaimed slots."""
        changes, _ = await self._evaluate("due", keys.pool_unclaimed())
        return changes

    async def list(self, channel_id: str | None = None) -> list[ChannelBinding]:
        index = keys.bindings_of_channel(channel_id) if channel_id else keys.bindings_all()
        return await self._get_many(await self.redis.zrange(index, 0, -1))

"""Agents: the cards agents register, and the store that keeps them in Redis."""

from __future__ import annotations

import builtins
from collections.abc import Sequence

import msgspec
from redis.asyncio import Redis

from relay_model import keys
from relay_model.base import Input, Model
from relay_model.clock import now_ms
from relay_model.errors import Invalid, NotFound
from relay_model.scripts import Scripts
from relay_model.validation import (
    AgentKind,
    AgentStatus,
    Id,
    JsonObject,
    Label,
    Name,
    NonNegativeInt,
    Path,
    ShortText,
    TagList,
    check_json_size,
)

# Agents that exist from the start and are never reaped.
BUILTIN_AGENTS: tuple[tuple[str, str, str], ...] = (("user", "User", "user"), ("system", "System", "system"))
UNTRACKED_KINDS = frozenset({"user", "system"})


class AgentCard(Model):
    id: str
    name: str
    kind: AgentKind = "provider"
    status: AgentStatus = "online"
    label: str | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    capabilities: list[str] = msgspec.field(default_factory=list)
    meta: JsonObject = msgspec.field(default_factory=dict)
    provider: str | None = None
    model: str | None = None
    cwd: str | None = None
    host: str | None = None
    pid: int | None = None
    version: str | None = None
    orchestrator_id: str | None = None
    last_seen: int | None = None
    registered_at: int | None = None
    session_id: str | None = None
    session_started_at: int | None = None


class _StaticCard(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=False):
    """The part of a card that only registration writes; scripts add the rest."""

    id: str
    name: str
    meta: JsonObject
    provider: str | None
    model: str | None
    cwd: str | None
    host: str | None
    pid: int | None
    version: str | None
    orchestrator_id: str | None


class RegisterAgentInput(Input):
    id: Id
    name: Name | None = None
    kind: AgentKind = "provider"
    status: AgentStatus = "online"
    label: Label | msgspec.UnsetType | None = msgspec.UNSET
    tags: TagList | None = None
    capabilities: TagList | None = None
    meta: JsonObject | None = None
    provider: ShortText | None = None
    model: Label | None = None
    cwd: Path | None = None
    host: Name | None = None
    pid: NonNegativeInt | None = None
    version: ShortText | None = None
    orchestrator_id: Id | None = None
    session_id: Id | None = None
    session_started_at: NonNegativeInt | None = None


class SessionGuard(msgspec.Struct, frozen=True):
    """The agent session a request speaks for; a request of an older session is refused."""

    session_id: str = ""
    started_at: int = 0


_encode = msgspec.json.Encoder().encode
_decode_card = msgspec.json.Decoder(AgentCard).decode
_decode_cards = msgspec.json.Decoder(list[AgentCard]).decode


def decode_card(raw: str | bytes) -> AgentCard:
    return _decode_card(raw)


def _dedupe(items: list[str] | None) -> list[str] | None:
    return None if items is None else list(dict.fromkeys(items))


class AgentStore:
    def __init__(self, redis: Redis, scripts: Scripts, *, event_maxlen: int) -> None:
        self.redis = redis
        self.scripts = scripts
        self.maxlen = event_maxlen

    async def ensure_builtins(self) -> None:
        for agent_id, name, kind in BUILTIN_AGENTS:
            if not await self.redis.exists(keys.agent(agent_id)):
                await self.register(RegisterAgentInput(id=agent_id, name=name, kind=kind))  # type: ignore[arg-type]

    async def register(self, data: RegisterAgentInput) -> tuple[AgentCard, bool]:
        if "/" in data.id:
            # Routes address an agent as one path segment (`/api/agents/:id`), and servers decode `%2F`
            # before routing, so such an agent could never be read, heartbeat or deleted.
            raise Invalid('id must not contain "/"')
        check_json_size(data.meta, "meta")
        static = _StaticCard(
            id=data.id,
            name=data.name or data.id,
            meta=data.meta or {},
            provider=data.provider,
            model=data.model,
            cwd=data.cwd,
            host=data.host,
            pid=data.pid,
            version=data.version,
            orchestrator_id=data.orchestrator_id,
        )
        label_given = data.label is not msgspec.UNSET
        tags = _dedupe(data.tags)
        caps = _dedupe(data.capabilities)
        now = now_ms()
        created, raw = await self.scripts.run_checked(
            "agent_register",
            [keys.agent(data.id), keys.agents_all(), keys.agents_live(), keys.agents_stale(), keys.events(keys.BUS)],
            [
                now,
                data.id,
                _encode(static),
                data.kind,
                (data.label or "") if label_given else "",
                "1" if label_given else "0",
                _encode(tags) if tags is not None else "",
                _encode(caps) if caps is not None else "",
                data.status,
                data.session_id or "",
                data.session_started_at if data.session_started_at is not None else now,
                "0" if data.kind in UNTRACKED_KINDS else "1",
                self.maxlen,
                static.name,
            ],
        )
        return decode_card(raw), bool(created)

    async def get(self, agent_id: str) -> AgentCard | None:
        (raw,) = await self.scripts.run("agents_get", [keys.agent(agent_id)], [])
        return decode_card(raw) if raw else None

    async def require(self, agent_id: str) -> AgentCard:
        agent = await self.get(agent_id)
        if agent is None:
            raise NotFound("agent not found")
        return agent

    async def list(
        self,
        *,
        status: str | None = None,
        tag: str | None = None,
        kind: str | None = None,
        capability: str | None = None,
    ) -> list[AgentCard]:
        """Agents in registration order; each filter narrows through its index set (one round trip)."""
        filters = [
            keys.agents_by(i, v)
            for i, v in (("status", status), ("tag", tag), ("kind", kind), ("cap", capability))
            if v
        ]
        raws = await self.scripts.run("agents_list", [keys.agents_all(), *filters], [])
        return _decode_cards("[" + ",".join(raws) + "]") if raws else []

    async def heartbeat(self, agent_id: str, guard: SessionGuard, status: str | None = None) -> tuple[AgentCard, bool]:
        changed, raw = await self.scripts.run_checked(
            "agent_heartbeat",
            [keys.agent(agent_id), keys.agents_live(), keys.agents_stale(), keys.events(keys.BUS)],
            [now_ms(), agent_id, guard.session_id, guard.started_at, self.maxlen, status or ""],
        )
        return decode_card(raw), bool(changed)

    async def set_status(self, agent_id: str, status: str, guard: SessionGuard) -> tuple[AgentCard, str]:
        """Set the status; a change is audited ("Agent <status>") in the same script."""
        now = now_ms()
        previous, raw = await self.scripts.run_checked(
            "agent_set_status",
            [
                keys.agent(agent_id),
                keys.agents_live(),
                keys.agents_stale(),
                keys.events(keys.BUS),
                keys.activity_seq(),
                keys.activity_all(),
            ],
            [
                now,
                agent_id,
                status,
                guard.session_id,
                guard.started_at,
                self.maxlen,
                f"server-agent-{agent_id}-status-{status}-{now}",
            ],
        )
        return decode_card(raw), str(previous)

    async def _set_attr(self, agent_id: str, field: str, value: str) -> tuple[AgentCard, bool]:
        now = now_ms()
        changed, raw = await self.scripts.run_checked(
            "agent_set_attr",
            [keys.agent(agent_id), keys.events(keys.BUS), keys.activity_seq(), keys.activity_all()],
            [now, agent_id, field, value, self.maxlen, f"server-agent-{agent_id}-{field}-{now}"],
        )
        return decode_card(raw), bool(changed)

    async def set_label(self, agent_id: str, label: str | None) -> tuple[AgentCard, bool]:
        return await self._set_attr(agent_id, "label", label or "")

    async def set_tags(self, agent_id: str, tags: Sequence[str]) -> tuple[AgentCard, bool]:
        return await self._set_attr(agent_id, "tags", _encode(list(dict.fromkeys(tags))).decode())

    async def statuses(self, agent_ids: Sequence[str]) -> builtins.list[str | None]:
        """Each agent's status (None for an unknown agent), in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        for agent_id in agent_ids:
            pipe.hget(keys.agent(agent_id), "status")
        found: builtins.list[str | None] = await pipe.execute()
        return found

    # --- reaper batches (steps in relay_model.agents.reaper) -----------------------------------

    async def mark_stale_batch(self, cutoff: int, limit: int) -> builtins.list[str]:
        """Live agents silent since `cutoff` become stale: `[examined, id, …]` (see `reaper.drain`)."""
        changed: builtins.list[str] = await self.scripts.run(
            "reap_agents_stale",
            [keys.agents_live(), keys.agents_stale(), keys.events(keys.BUS)],
            [cutoff, limit, self.maxlen],
        )
        return changed

    async def mark_offline_batch(self, cutoff: int, now: int, limit: int) -> builtins.list[str]:
        """Stale agents silent since `cutoff` go offline ("Heartbeat lost" activity): `[examined, id, …]`."""
        changed: builtins.list[str] = await self.scripts.run(
            "reap_agents_offline",
            [keys.agents_live(), keys.agents_stale(), keys.events(keys.BUS), keys.activity_seq(), keys.activity_all()],
            [cutoff, limit, self.maxlen, now],
        )
        return changed

    async def delete(self, agent_id: str) -> AgentCard | None:
        raw = await self.scripts.run(
            "agent_delete",
            [keys.agent(agent_id), keys.agents_all(), keys.agents_live(), keys.agents_stale(), keys.events(keys.BUS)],
            [agent_id, self.maxlen],
        )
        return decode_card(raw) if raw else None

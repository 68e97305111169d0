"""Pairs: two agents working together. One asks (`pending`), the other accepts (`active`) or
rejects (`rejected`); either ends it (`ended`); a request nobody answers in time is `expired`.

Every transition is a compare-and-set Lua script that emits its `pair.*` event. The people-facing
side (a `pair` message to the other agent, an activity entry) is written by the API after it.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

import msgspec
from msgspec import Meta
from redis.asyncio import Redis

from relay_model import keys
from relay_model.base import Input, Model
from relay_model.clock import now_ms
from relay_model.errors import Invalid, NotFound
from relay_model.scripts import Scripts
from relay_model.validation import Body, Id, JsonObject, Subject, TtlMs, check_json_size

PAIR_STATUSES: Final = ("pending", "active", "ended", "rejected", "expired")
PairStatus = Literal["pending", "active", "ended", "rejected", "expired"]
PairAction = Literal["accept", "reject", "end"]
Reason = Annotated[str, Meta(max_length=500)]
REAP_BATCH = 500


class Pair(Model):
    id: int
    from_: str = msgspec.field(name="from")
    to: str
    topic: str | None = None
    status: PairStatus = "pending"
    meta: JsonObject | None = None
    created_at: int = 0
    updated_at: int = 0
    expires_at: int | None = None
    responded_at: int | None = None
    ended_at: int | None = None
    ended_by: str | None = None
    reason: str | None = None


class CreatePairInput(Input):
    from_: Id = msgspec.field(name="from")
    to: Id
    topic: Subject | None = None
    ttl_ms: TtlMs | None = None
    meta: JsonObject | None = None


class PairActionInput(Input):
    agent_id: Id
    reason: Reason | None = None


class PairMessageInput(Input):
    from_: Id = msgspec.field(name="from")
    body: Body = ""
    subject: Subject | None = None
    payload: JsonObject | None = None


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Pair).decode


class PairStore:
    def __init__(self, redis: Redis, scripts: Scripts, *, event_maxlen: int, ttl_ms: int) -> None:
        self.redis = redis
        self.scripts = scripts
        self.maxlen = event_maxlen
        self.ttl_ms = ttl_ms

    async def create(self, data: CreatePairInput) -> Pair:
        if data.from_ == data.to:
            raise Invalid("an agent cannot pair with itself")
        check_json_size(data.meta, "meta")
        now = now_ms()
        (raw,) = await self.scripts.run_checked(
            "pair_create",
            [
                keys.pair_seq(),
                keys.pairs_all(),
                keys.pairs_pending(),
                keys.pair_between(data.from_, data.to),
                keys.agent(data.from_),
                keys.agent(data.to),
                keys.events(keys.BUS),
                keys.pair_between(data.to, data.from_),
            ],
            [
                now,
                data.from_,
                data.to,
                data.topic or "",
                now + (data.ttl_ms or self.ttl_ms),
                _encode(data.meta).decode() if data.meta is not None else "",
                self.maxlen,
            ],
        )
        return _decode(str(raw))

    async def act(self, pair_id: int, action: PairAction, agent_id: str, reason: str | None) -> Pair:
        (raw,) = await self.scripts.run_checked(
            "pair_action",
            [keys.pair(pair_id), keys.pairs_pending(), keys.events(keys.BUS)],
            [now_ms(), pair_id, action, agent_id, reason or "", self.maxlen],
        )
        return _decode(str(raw))

    async def get(self, pair_id: int) -> Pair | None:
        (raw,) = await self.scripts.run("pairs_get", [keys.pair(pair_id)], [])
        return _decode(raw) if raw else None

    async def require(self, pair_id: int) -> Pair:
        pair = await self.get(pair_id)
        if pair is None:
            raise NotFound("pair not found")
        return pair

    async def expire_due(self, now: int) -> list[Pair]:
        raws = await self.scripts.run(
            "pair_expire", [keys.pairs_pending(), keys.events(keys.BUS)], [now, REAP_BATCH, self.maxlen]
        )
        return [_decode(r) for r in raws]

    async def list(self, *, agent_id: str | None, status: str | None, limit: int) -> list[Pair]:
        """Newest first. Two round trips whatever the filters: the ids, then the pairs."""
        if agent_id and status:
            # The pairs of an agent in one status: the two indexes intersected inside Redis (ZINTER,
            # Redis 6.2+), ordered by id like either index.
            both = await self.redis.zinter([keys.pairs_by("agent", agent_id), keys.pairs_by("status", status)])
            ids = both[::-1][:limit]
        else:
            if agent_id:
                index = keys.pairs_by("agent", agent_id)
            elif status:
                index = keys.pairs_by("status", status)
            else:
                index = keys.pairs_all()
            ids = await self.redis.zrevrange(index, 0, limit - 1)
        if not ids:
            return []
        raws = await self.scripts.run("pairs_get", [keys.pair(i) for i in ids], [])
        return [pair for pair in (_decode(raw) for raw in raws if raw) if status is None or pair.status == status]

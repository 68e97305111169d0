"""The activity (audit) feed: what happened, for people reading the dashboard."""

from __future__ import annotations

import builtins
from typing import Annotated

import msgspec
from msgspec import Meta
from redis.asyncio import Redis

from relay_model import keys
from relay_model.base import Input, Model
from relay_model.clock import now_ms
from relay_model.scripts import Scripts
from relay_model.validation import (
    ACTIVITY_KINDS,
    ActivityKind,
    Id,
    JsonObject,
    NonNegativeInt,
    ShortText,
    check_json_size,
)

# Filtered listings examine at most this many entries, so a rare filter stays cheap.
LIST_SCAN_BUDGET = 5000


class Activity(Model):
    id: int
    kind: ActivityKind
    title: str
    body: str = ""
    meta: str | None = None
    icon: str | None = None
    view: str | None = None
    agent_id: str | None = None
    message_id: int | None = None
    metadata: JsonObject | None = None
    client_id: str | None = None
    created_at: int = 0


class ActivityInput(Input):
    kind: ActivityKind
    title: Annotated[str, Meta(min_length=1, max_length=200)]
    body: Annotated[str, Meta(max_length=4000)] = ""
    meta: Annotated[str, Meta(max_length=240)] | None = None
    icon: ShortText | None = None
    view: ShortText | None = None
    agent_id: Id | None = None
    message_id: NonNegativeInt | None = None
    metadata: JsonObject | None = None
    client_id: Id | None = None


class _Doc(msgspec.Struct, kw_only=True, rename="camel"):
    kind: str
    title: str
    body: str
    meta: str | None
    icon: str | None
    view: str | None
    agent_id: str | None
    message_id: int | None
    metadata: JsonObject | None
    client_id: str | None
    created_at: int


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Activity).decode
_decode_list = msgspec.json.Decoder(list[Activity]).decode


def entry_args(entry: ActivityInput, now: int) -> list[str]:
    """What `add_activity` (lua/_prelude.lua) takes for an entry created at `now`: its document (json
    without id), kind, agent id and clientId ('' = none). A script of another package that records an
    entry in its own call (messages/lua/message_send_recorded.lua) takes the same."""
    check_json_size(entry.metadata, "metadata")
    doc = _Doc(
        kind=entry.kind,
        title=entry.title,
        body=entry.body,
        meta=entry.meta,
        icon=entry.icon,
        view=entry.view,
        agent_id=entry.agent_id,
        message_id=entry.message_id,
        metadata=entry.metadata,
        client_id=entry.client_id,
        created_at=now,
    )
    return [_encode(doc).decode(), entry.kind, entry.agent_id or "", entry.client_id or ""]


class ActivityStore:
    def __init__(self, redis: Redis, scripts: Scripts, *, event_maxlen: int) -> None:
        self.redis = redis
        self.scripts = scripts
        self.maxlen = event_maxlen

    async def add(self, entry: ActivityInput) -> Activity | None:
        """Record an entry; None when its clientId was recorded before (a retry)."""
        now = now_ms()
        raw = await self.scripts.run(
            "activity_add",
            [keys.activity_seq(), keys.activity_all(), keys.events(keys.BUS)],
            [*entry_args(entry, now), now, self.maxlen],
        )
        return _decode(raw) if raw else None

    async def list(
        self,
        *,
        limit: int,
        kind: str | None = None,
        agent_id: str | None = None,
        before: int | None = None,
        since: int | None = None,
    ) -> list[Activity]:
        """Newest first."""
        if agent_id:
            index, kind_filter = keys.activity_by("agent", agent_id), kind or ""
        elif kind:
            index, kind_filter = keys.activity_by("kind", kind), ""
        else:
            index, kind_filter = keys.activity_all(), ""
        raws = await self.scripts.run(
            "activity_list",
            [index],
            ["" if before is None else before, limit, kind_filter, "" if since is None else since, LIST_SCAN_BUDGET],
        )
        return _decode_list("[" + ",".join(raws) + "]") if raws else []

    async def trim_batch(self, *, cutoff: int, keep: int, limit: int) -> builtins.list[str]:
        """Retention: delete the oldest entries created at or before `cutoff` (0 = no age cap) or beyond
        the newest `keep` (0 = no count cap), at most `limit`: `[examined, id, …]` (see activity_trim.lua)."""
        trimmed: builtins.list[str] = await self.scripts.run(
            "activity_trim", [keys.activity_all()], [cutoff, keep, limit, *ACTIVITY_KINDS]
        )
        return trimmed


def state_activity(
    title: str,
    *,
    client_id: str,
    icon: str,
    view: str,
    body: str = "",
    meta: str | None = None,
    agent_id: str | None = None,
    metadata: JsonObject | None = None,
) -> ActivityInput:
    """A `state` entry: the audit line a registration, a control request, a recipe start or stop, or a
    reaper pass leaves in the feed (agent status changes write theirs in Lua: `audit_agent_state` in
    lua/_prelude.lua). `client_id` makes a retried request record it once."""
    return ActivityInput(
        kind="state",
        title=title,
        body=body,
        meta=meta,
        icon=icon,
        view=view,
        agent_id=agent_id,
        metadata=metadata,
        client_id=client_id,
    )

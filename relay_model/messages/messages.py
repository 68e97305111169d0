"""Messages: sending with fan-out, inboxes, history, claims and read cursors."""

from __future__ import annotations

from typing import Any, NamedTuple

import msgspec
from redis.asyncio import Redis

from relay_model import keys
from relay_model.activity import ActivityInput, entry_args
from relay_model.base import Input, Model
from relay_model.clock import now_ms
from relay_model.errors import Unprocessable
from relay_model.scripts import ScriptGuard, Scripts
from relay_model.validation import (
    Body,
    Id,
    JsonObject,
    MessageKind,
    NonNegativeInt,
    PositiveInt,
    Subject,
    check_json_size,
)

# Kinds that may reach an agent marked offline (the seed's bypass list).
OFFLINE_BYPASS_KINDS = frozenset({"system", "control"})
# History scans are bounded so a filter that matches little never walks all of history.
HISTORY_SCAN_BUDGET = 5000
# An inbox read examines at most this many broadcasts (an agent's own broadcasts are skipped, a page
# of up to 1000 per Redis call); more own broadcasts in a row than this would stall its inbox reads.
INBOX_BROADCAST_BUDGET = 100_000


class Message(Model):
    id: int
    to: str
    from_: str = msgspec.field(name="from")
    kind: MessageKind = "chat"
    subject: str | None = None
    body: str = ""
    payload: JsonObject | None = None
    meta: JsonObject | None = None
    reply_to: int | None = None
    thread_id: int | None = None
    channel: str | None = None
    claimable: bool = False
    idempotency_key: str | None = None
    created_at: int = 0
    claimed_by: str | None = None
    claimed_at: int | None = None
    claim_expires_at: int | None = None


class SendMessageInput(Input):
    from_: Id = msgspec.field(name="from")
    to: Id | None = None
    kind: MessageKind = "chat"
    subject: Subject | None = None
    body: Body = ""
    payload: JsonObject | None = None
    meta: JsonObject | None = None
    reply_to: PositiveInt | None = None
    channel: Id | None = None
    claimable: bool = False
    idempotency_key: Id | None = None


class CursorPosition(NamedTuple):
    cursor: int
    latest_id: int


class _StoredDoc(msgspec.Struct, kw_only=True, rename="camel"):
    """What a message stores besides its id and target (the script adds those)."""

    from_: str = msgspec.field(name="from")
    kind: str
    subject: str | None
    body: str
    payload: JsonObject | None
    meta: JsonObject | None
    reply_to: int | None
    channel: str | None
    claimable: bool
    idempotency_key: str | None
    created_at: int


class ClaimInput(Input):
    agent_id: Id
    ttl_ms: PositiveInt | None = None


class ReleaseInput(Input):
    agent_id: Id | None = None


class ReadInput(Input):
    agent_id: Id


class CursorInput(Input):
    agent_id: Id
    cursor: NonNegativeInt
    # A cursor only moves forward unless the caller asks to rewind it.
    rewind: bool = False


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Message).decode
_decode_list = msgspec.json.Decoder(list[Message]).decode


def decode_message(raw: str | bytes) -> Message:
    return _decode(raw)


def decode_messages(raws: list[str]) -> list[Message]:
    if not raws:
        return []
    return _decode_list("[" + ",".join(raws) + "]")


class MessageStore:
    def __init__(self, redis: Redis, scripts: Scripts, *, event_maxlen: int, claim_ttl_ms: int) -> None:
        self.redis = redis
        self.scripts = scripts
        self.maxlen = event_maxlen
        self.claim_ttl_ms = claim_ttl_ms

    async def send(self, data: SendMessageInput, *, thread_id: int | None = None) -> tuple[Message, bool]:
        """Store and route a message in one round trip. Returns (message, created).

        A reply's `threadId` is its parent's thread (the first message's id) unless `thread_id` is given.
        """
        raw, created = await self.send_json(data, thread_id=thread_id)
        return decode_message(raw), created

    async def send_json(
        self, data: SendMessageInput, *, thread_id: int | None = None, guard: ScriptGuard | None = None
    ) -> tuple[str, bool]:
        """`send`, answering the message as the JSON text the script built (the API serves it as is).
        `guard`: a check the script makes first (a request's token check, relay_model/scripts.py)."""
        send_keys, args = self._send_call(data, thread_id)
        created, raw = await self.scripts.run_checked("message_send", send_keys, args, guard=guard)
        return str(raw), bool(created)

    async def send_recorded(self, data: SendMessageInput, entry: ActivityInput) -> Message | None:
        """`send` and record an activity entry in the same round trip (a new task's message and its
        "Task created" entry). None when the target is offline (the send's 422): the entry is recorded
        all the same. A send refused as bad input raises, recording nothing."""
        send_keys, args = self._send_call(data, None)
        try:
            _, raw = await self.scripts.run_checked(
                "message_send_recorded",
                [*send_keys, keys.activity_seq(), keys.activity_all()],
                [*args, *entry_args(entry, args[0])],
            )
        except Unprocessable:
            return None
        return decode_message(raw)

    def _send_call(self, data: SendMessageInput, thread_id: int | None) -> tuple[list[str], list[Any]]:
        """The KEYS and ARGV of send_message (lua/_send_lib.lua); ARGV[1] is the time the message is sent."""
        check_json_size(data.payload, "payload")
        check_json_size(data.meta, "meta")
        doc = _StoredDoc(
            from_=data.from_,
            kind=data.kind,
            subject=data.subject,
            body=data.body,
            payload=data.payload,
            meta=data.meta,
            reply_to=data.reply_to,
            channel=data.channel,
            claimable=data.claimable,
            idempotency_key=data.idempotency_key,
            created_at=now_ms(),
        )
        idem = data.idempotency_key
        send_keys = [
            keys.message_seq(),
            keys.idempotency(idem or ""),
            keys.messages_all(),
            keys.broadcasts(),
            keys.events(keys.BUS),
        ]
        args = [
            doc.created_at,
            _encode(doc),
            data.from_,
            data.to or "",
            data.kind,
            data.channel or "",
            data.reply_to or "",
            "1" if idem else "0",
            "1" if data.claimable else "0",
            "1" if data.kind in OFFLINE_BYPASS_KINDS else "0",
            self.maxlen,
            "" if thread_id is None else thread_id,
        ]
        return send_keys, args

    async def get(self, message_id: int) -> Message | None:
        (raw,) = await self.scripts.run("messages_get", [keys.message(message_id)], [])
        return decode_message(raw) if raw else None

    async def in_inbox(self, agent_id: str, message_id: int) -> bool:
        """Whether the message reached `agent_id`'s inbox (direct or fan-out; broadcasts are not listed there)."""
        return await self.redis.zscore(keys.inbox(agent_id), message_id) is not None

    async def inbox(self, agent_id: str, *, since: int, limit: int) -> list[Message]:
        return _decode_list(await self.inbox_json(agent_id, since=since, limit=limit))

    async def inbox_json(self, agent_id: str, *, since: int, limit: int, guard: ScriptGuard | None = None) -> str:
        """`inbox` as the JSON array of the messages the script read (the API serves it as is)."""
        raws = await self.scripts.run(
            "messages_inbox",
            [keys.inbox(agent_id), keys.broadcasts(), keys.messages_floor()],
            [agent_id, since, limit, INBOX_BROADCAST_BUDGET],
            guard=guard,
        )
        return "[" + ",".join(raws) + "]"

    async def history(self, **query: Any) -> list[Message]:
        """See `history_json` for the parameters."""
        return _decode_list(await self.history_json(**query))

    async def history_json(
        self,
        *,
        since: int | None,
        before: int | None,
        limit: int,
        from_: str | None = None,
        to: str | None = None,
        channel: str | None = None,
        kind: str | None = None,
        guard: ScriptGuard | None = None,
    ) -> str:
        """History, oldest first, as the JSON array of the messages the script read."""
        # Scan the most selective index that a filter names.
        if to:
            index = keys.messages_by("to", to)
        elif from_:
            index = keys.messages_by("from", from_)
        elif channel:
            index = keys.messages_by("channel", channel)
        elif kind:
            index = keys.messages_by("kind", kind)
        else:
            index = keys.messages_all()
        raws = await self.scripts.run(
            "messages_history",
            [index],
            [
                "" if since is None else since,
                "" if before is None else before,
                limit,
                from_ or "",
                to or "",
                channel or "",
                kind or "",
                HISTORY_SCAN_BUDGET,
            ],
            guard=guard,
        )
        return "[" + ",".join(raws) + "]"

    async def claim(self, message_id: int, agent_id: str, ttl_ms: int | None) -> tuple[Message, bool]:
        raw, fresh = await self.claim_json(message_id, agent_id, ttl_ms)
        return decode_message(raw), fresh

    async def claim_json(
        self, message_id: int, agent_id: str, ttl_ms: int | None, *, reader: str = "", guard: ScriptGuard | None = None
    ) -> tuple[str, bool]:
        """`claim`, answering the claimed message as the JSON text the script built. With `reader` (a
        bound token's description, for the 403 text) the agent must be able to read the message: its
        own, a broadcast, or in its inbox — checked in the same script, before the claim rules."""
        fresh, raw = await self.scripts.run_checked(
            "message_claim",
            [keys.message(message_id), keys.message_claims(), keys.events(keys.BUS), keys.inbox(agent_id)],
            [now_ms(), message_id, agent_id, ttl_ms or self.claim_ttl_ms, self.maxlen, reader],
            guard=guard,
        )
        return str(raw), bool(fresh)

    async def release(self, message_id: int, agent_id: str | None) -> Message:
        _, raw = await self.scripts.run_checked(
            "message_release",
            [keys.message(message_id), keys.message_claims(), keys.events(keys.BUS)],
            [message_id, agent_id or "", self.maxlen],
        )
        return decode_message(raw)

    async def mark_read(self, message_id: int, agent_id: str) -> CursorPosition:
        cursor, latest = await self.scripts.run_checked(
            "message_read",
            [keys.message(message_id), keys.read_cursor(agent_id), keys.events(keys.BUS), keys.message_seq()],
            [now_ms(), message_id, agent_id, self.maxlen],
        )
        return CursorPosition(int(cursor), int(latest))

    async def cursor_position(self, agent_id: str) -> CursorPosition:
        """The agent's read cursor and the latest message id, in one round trip (same slot)."""
        cursor, latest = await self.redis.mget([keys.read_cursor(agent_id), keys.message_seq()])
        return CursorPosition(int(cursor or 0), int(latest or 0))

    async def set_cursor(self, agent_id: str, cursor: int, *, allow_rewind: bool = False) -> CursorPosition:
        position, latest = await self.scripts.run(
            "cursor_set", [keys.read_cursor(agent_id), keys.message_seq()], [cursor, "1" if allow_rewind else "0"]
        )
        return CursorPosition(int(position), int(latest))

    async def release_expired_claims_batch(self, now: int, limit: int) -> list[str]:
        """Reaper: claims expired at `now` are released (`message.claim_released`): `[examined, id, …]`."""
        released: list[str] = await self.scripts.run(
            "reap_message_claims", [keys.message_claims(), keys.events(keys.BUS)], [now, limit, self.maxlen]
        )
        return released

    async def trim_batch(self, *, cutoff: int, keep: int, limit: int) -> list[str]:
        """Retention: delete the oldest messages created at or before `cutoff` (0 = no age cap) or beyond
        the newest `keep` (0 = no count cap), at most `limit`: `[examined, id, …]` (see messages_trim.lua)."""
        trimmed: list[str] = await self.scripts.run(
            "messages_trim",
            [keys.messages_all(), keys.broadcasts(), keys.message_claims(), keys.messages_floor()],
            [cutoff, keep, limit],
        )
        return trimmed

    async def latest_id(self) -> int:
        raw = await self.redis.get(keys.message_seq())
        return int(raw) if raw else 0

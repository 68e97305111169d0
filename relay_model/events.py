"""Live events: `{type, source, subject, data}` envelopes kept in capped per-group Redis streams.

Each script that changes state appends its event to its group's stream and PUBLISHes it on
`relay:events` in the same call. Pub/sub is the fast path to every API node; the streams are the
source of truth that a reconnecting client replays from.

An SSE event id is a cursor over all groups, `bus=1700000000000-0,cmd=…`: the position of every
group's stream that the client has seen, so `Last-Event-ID` resumes every group where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec
from redis.asyncio import Redis

from relay_model import keys
from relay_model.scripts import Scripts

_json = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class Event:
    group: str
    stream_id: str
    type: str
    source: str
    subject: str
    data: str  # raw JSON text
    # `envelope_text()`, once built: a node hands one event to every one of its SSE clients.
    _text: str | None = field(default=None, compare=False, repr=False)

    @property
    def ts(self) -> int:
        return int(self.stream_id.split("-", 1)[0])

    def envelope(self) -> bytes:
        """The JSON the SSE client receives; `data` is spliced in without re-encoding."""
        return b"".join(
            (
                b'{"type":',
                _json.encode(self.type),
                b',"source":',
                _json.encode(self.source),
                b',"subject":',
                _json.encode(self.subject),
                b',"ts":',
                str(self.ts).encode(),
                b',"data":',
                self.data.encode(),
                b"}",
            )
        )

    def envelope_text(self) -> str:
        """`envelope()` as text, built once per event however many clients it goes to."""
        text = self._text
        if text is None:
            text = self.envelope().decode()
            object.__setattr__(self, "_text", text)  # frozen for its value; this is only a cache
        return text


_decode_str = msgspec.json.Decoder(str).decode


def parse_published(payload: str) -> Event | None:
    """Parse a pub/sub payload (see `relay_emit` in lua/_prelude.lua); None when it is not one."""
    parts = payload.split("\n", 5)
    if len(parts) != 6:
        return None
    group, stream_id, type_, source, subject, data = parts
    try:
        return Event(group, stream_id, type_, _decode_str(source), _decode_str(subject), data)
    except msgspec.DecodeError:
        return None


MAX_STREAM_PART = 2**64 - 1


def stream_id_tuple(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def valid_stream_id(stream_id: str) -> bool:
    """`<ms>-<seq>` with both parts unsigned 64-bit integers in ASCII digits, as Redis accepts them."""
    ms, sep, seq = stream_id.partition("-")
    return all(
        part.isascii() and part.isdigit() and len(part) <= 20 and int(part) <= MAX_STREAM_PART
        for part in (ms, seq if sep else "0")
    )


class Cursor:
    """Positions per group stream; encodes to and from an SSE event id."""

    def __init__(self, positions: dict[str, str] | None = None) -> None:
        self.positions: dict[str, str] = dict(positions or {})

    @classmethod
    def parse(cls, raw: str | None) -> Cursor | None:
        if not raw:
            return None
        positions: dict[str, str] = {}
        for part in raw.split(","):
            group, sep, sid = part.strip().partition("=")
            if not sep or group not in keys.EVENT_GROUPS or not valid_stream_id(sid):
                return None
            positions[group] = sid
        return cls(positions)

    def encode(self) -> str:
        return ",".join(f"{g}={self.positions[g]}" for g in keys.EVENT_GROUPS if g in self.positions)

    def seen(self, event: Event) -> bool:
        pos = self.positions.get(event.group)
        return pos is not None and stream_id_tuple(event.stream_id) <= stream_id_tuple(pos)

    def advance(self, event: Event) -> None:
        self.positions[event.group] = event.stream_id


class EventLog:
    def __init__(self, redis: Redis, scripts: Scripts, *, maxlen: int) -> None:
        self.redis = redis
        self.scripts = scripts
        self.maxlen = maxlen

    async def emit(self, group: str, type_: str, source: str, subject: str, data: bytes | str) -> str:
        text = data.decode() if isinstance(data, bytes) else data
        return str(
            await self.scripts.run(
                "event_emit", [keys.events(group)], [group, type_, source, subject, text, self.maxlen]
            )
        )

    async def head(self) -> Cursor:
        """The newest position of every group stream (where a fresh client starts)."""
        pipe = self.redis.pipeline(transaction=False)
        for group in keys.EVENT_GROUPS:
            pipe.xrevrange(keys.events(group), count=1)
        positions: dict[str, str] = {}
        for group, entries in zip(keys.EVENT_GROUPS, await pipe.execute(), strict=True):
            positions[group] = entries[0][0] if entries else "0-0"
        return Cursor(positions)

    async def replay(self, cursor: Cursor, *, limit: int) -> list[Event]:
        """Events after the cursor in every group it names, oldest first, at most `limit`."""
        groups = [g for g in keys.EVENT_GROUPS if g in cursor.positions]
        pipe = self.redis.pipeline(transaction=False)
        for group in groups:
            pipe.xrange(keys.events(group), min="(" + cursor.positions[group], count=limit)
        events: list[Event] = []
        for group, entries in zip(groups, await pipe.execute(), strict=True):
            for sid, fields in entries:
                events.append(Event(group, sid, fields["t"], fields["s"], fields["j"], fields["d"]))
        events.sort(key=lambda e: stream_id_tuple(e.stream_id))
        return events[:limit]

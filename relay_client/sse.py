"""Reading the relay's server-sent events, line by line (shared by the sync and async streams).

The relay opens a stream with `: connected`, `retry:` and an `id:` line naming where the stream
starts, then sends `id:` + `data:` blocks, one per event, and `: keep-alive` comments. An `id:`
without data moves the resume point without being an event (as the SSE standard has it), so a
client that reconnects resumes exactly where its stream stood even before any event arrived.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from relay_client.models import Event

_decode_event = msgspec.json.Decoder(Event).decode


@dataclass
class Block:
    """What one blank-line-terminated block carried."""

    data: list[str] = field(default_factory=list)
    id: str | None = None
    comments: list[str] = field(default_factory=list)
    retry_ms: int | None = None


class Parser:
    """Feed it lines; it returns a Block at each blank line that ends one."""

    def __init__(self) -> None:
        self._block = Block()
        self._touched = False

    def feed(self, line: str) -> Block | None:
        if line == "":
            if not self._touched:
                return None
            block, self._block, self._touched = self._block, Block(), False
            return block
        self._touched = True
        if line.startswith(":"):
            self._block.comments.append(line[1:].strip())
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._block.data.append(value)
        elif name == "id":
            if "\0" not in value:
                self._block.id = value
        elif name == "retry" and value.isdigit():
            self._block.retry_ms = int(value)
        return None


def decode(block: Block) -> Event | None:
    """The event a block carries (None for comments, bare ids and data that is not an event)."""
    if not block.data:
        return None
    try:
        event = _decode_event("\n".join(block.data))
    except msgspec.DecodeError:
        return None
    event.id = block.id
    return event

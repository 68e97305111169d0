"""What one token's event stream may carry.

Two rules, both decided on this node from what the token and the event already say (no Redis call
per event):

1. **Areas.** An event reaches a stream only if the token may read its area: `message.*` needs
   `messages:read`, `command.*` `commands:read`, `automation.*` `automations:read`, and so on
   (`EVENT_AREAS`). An integration token (no `messages:read`) therefore never sees message bodies.
2. **Parties, for agent and orchestrator tokens.** Their streams carry only events about the agents
   they act as: an agent token its own agent; an orchestrator token its own card
   (`orchestrator:<id>`) and the agents it manages (or one of them, named with `?agentId=`).
   An event that carries a message or a command is about its parties only (`from`/`to`,
   `source`/`target`; a broadcast message is everyone's), so the text of someone else's mail or
   the params of someone else's command never reach the stream, whatever its body contains. Other
   events are about the agent they name (`source`, `subject`, or its id as a JSON string in `data`).
   An orchestrator's managed set is read once when the stream opens and follows `agent.*` events
   (a card registered with its `orchestratorId` joins, a removed one leaves).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

import msgspec

from relay_api.auth import Principal
from relay_api.scopes import matches
from relay_api.sse import type_filter
from relay_model.events import Event

# Event type prefix -> the area whose `read` scope a stream needs to receive it.
EVENT_AREAS: Final[dict[str, str]] = {
    "agent": "agents",
    "message": "messages",
    "activity": "activity",
    "channel": "channels",
    "pool": "channels",
    "orchestrator": "orchestrators",
    "pair": "pairs",
    "task": "tasks",
    "command": "commands",
    "recipe": "recipes",
    "automation": "automations",
    "integration": "integrations",
}


def readable_areas(principal: Principal) -> frozenset[str]:
    """The event prefixes (keys of EVENT_AREAS) whose area the token may read."""
    return frozenset(
        prefix
        for prefix, area in EVENT_AREAS.items()
        if matches(principal.scopes, f"{area}:read")
        and (principal.narrow is None or matches(principal.narrow, f"{area}:read"))
    )


class _MessageParties(msgspec.Struct):
    to: str = ""
    from_: str = msgspec.field(default="", name="from")


class _CommandParties(msgspec.Struct):
    source: str = ""
    target: str = ""


class _Card(msgspec.Struct, rename="camel"):
    id: str = ""
    orchestrator_id: str | None = None


class _Parties(msgspec.Struct):
    message: _MessageParties | None = None
    command: _CommandParties | None = None
    agent: _Card | None = None


_decode_parties = msgspec.json.Decoder(_Parties).decode
_EMPTY = _Parties()


@lru_cache(maxsize=1024)
def parties(data: str) -> _Parties:
    """The parties an event's data names (one parse per event, shared by every stream on the node)."""
    if '"message"' not in data and '"command"' not in data and '"agent"' not in data:
        return _EMPTY
    try:
        return _decode_parties(data)
    except msgspec.ValidationError:
        return _EMPTY  # a shape this parser does not know: judged by the generic rule


@dataclass(eq=False)
class StreamScope:
    """The agents a bound token's stream is about; `manager` keeps an orchestrator's set current."""

    agents: set[str]
    manager: str | None = None
    fixed: frozenset[str] = field(default_factory=frozenset)
    needles: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.fixed = frozenset(self.agents) if not self.fixed else self.fixed
        self.needles = {a: msgspec.json.encode(a).decode() for a in self.agents}

    def _follow(self, event: Event, found: _Parties) -> None:
        card = found.agent
        if self.manager is None or card is None or not card.id or card.id in self.fixed:
            return
        if event.type != "agent.removed" and card.orchestrator_id == self.manager:
            if card.id not in self.agents:
                self.agents.add(card.id)
                self.needles[card.id] = msgspec.json.encode(card.id).decode()
        elif card.id in self.agents:
            self.agents.discard(card.id)
            self.needles.pop(card.id, None)

    def about(self, event: Event) -> bool:
        found = parties(event.data)
        self._follow(event, found)
        if found.message is not None:
            msg = found.message
            return msg.to == "broadcast" or msg.from_ in self.agents or msg.to in self.agents
        if found.command is not None:
            return found.command.source in self.agents or found.command.target in self.agents
        if event.source in self.agents or event.subject in self.agents:
            return True
        return any(needle in event.data for needle in self.needles.values())


def stream_filter(
    principal: Principal, patterns: list[str], scope: StreamScope | None, agent_id: str | None
) -> Callable[[Event], bool]:
    """The accept function of one stream: the token's areas, then (bound tokens) its parties, then
    the `types=` patterns and, for other tokens, the `agentId=` filter (relay_api/sse.py)."""
    areas = readable_areas(principal)
    everything = areas == frozenset(EVENT_AREAS)
    requested = type_filter(patterns, None if scope is not None else agent_id)

    def accepts(event: Event) -> bool:
        # The scope sees every event first (an orchestrator's set follows agent.* on any stream).
        if scope is not None and not scope.about(event):
            return False
        if not everything:
            prefix = event.type.partition(".")[0]
            if prefix in EVENT_AREAS and prefix not in areas:
                return False
        return requested(event)

    return accepts

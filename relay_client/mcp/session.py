"""One agent's presence on the relay while an MCP session lives: its card, heartbeats, its inbox.

On start the agent's card is adopted when it exists (as an orchestrator registered it, unchanged)
and registered when not. A heartbeat keeps it online; each carries this session's id and start
time, so when a newer session of the same agent takes over, the relay refuses the older one's
writes (409) and this session stops heartbeating instead of fighting it. On a clean end the
card is marked offline, again only if no newer session holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass, field

from relay_client import AsyncClient, RelayError
from relay_client.models import Agent, Event, Message

log = logging.getLogger("relay.mcp")

# How often `wait_for_messages` reads the inbox even without a wake-up: fan-out and broadcast
# messages do not name the agent in their event, so an agent's filtered stream does not see them.
POLL_S = 5.0


@dataclass
class CardFields:
    """What a new card is registered with (an existing card is adopted as it is)."""

    name: str | None = None
    label: str | None = None
    tags: list[str] = field(default_factory=list)
    capabilities: list[str] = field(default_factory=list)
    provider: str | None = None
    model: str | None = None
    cwd: str | None = None


@dataclass
class InboxBatch:
    messages: list[Message]
    more: bool
    cursor: int
    timed_out: bool = False


class AgentSession:
    def __init__(
        self, client: AsyncClient, agent_id: str, card: CardFields | None = None, *, heartbeat_s: float = 20.0
    ) -> None:
        self.client = client
        self.agent_id = agent_id
        self.card_fields = card or CardFields()
        self.heartbeat_s = heartbeat_s
        self.session_id = "mcp-" + secrets.token_hex(8)
        self.started_at = int(time.time() * 1000)
        self.adopted = False
        self.superseded = False
        self._beat: asyncio.Task[None] | None = None

    async def start(self) -> Agent:
        try:
            card = await self.client.agents.get(self.agent_id)
        except RelayError as exc:
            if exc.status != 404:
                raise
            card = await self._register()
        else:
            self.adopted = True
            card = await self.client.agents.heartbeat(
                self.agent_id, session_id=self.session_id, session_started_at=self.started_at
            )
        self._beat = asyncio.create_task(self._heartbeats(), name="relay-mcp-heartbeat")
        return card

    async def _register(self) -> Agent:
        fields = self.card_fields
        return await self.client.agents.register(
            self.agent_id,
            name=fields.name,
            label=fields.label,
            tags=fields.tags or None,
            capabilities=fields.capabilities or None,
            provider=fields.provider,
            model=fields.model,
            cwd=fields.cwd or os.getcwd(),
            host=socket.gethostname(),
            pid=os.getpid(),
            meta={"via": "relay mcp"},
            session_id=self.session_id,
            session_started_at=self.started_at,
        )

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            try:
                await self.client.agents.heartbeat(
                    self.agent_id, session_id=self.session_id, session_started_at=self.started_at
                )
            except RelayError as exc:
                if exc.status == 409:
                    log.warning("a newer session took over agent %s; this one stops heartbeating", self.agent_id)
                    self.superseded = True
                    return
                if exc.status == 404:
                    log.warning("agent %s was removed; registering it again", self.agent_id)
                    with contextlib.suppress(RelayError):
                        await self._register()
                    continue
                log.warning("heartbeat of %s failed: %s", self.agent_id, exc)

    async def stop(self) -> None:
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beat
        if self.superseded:
            return
        try:
            await self.client.agents.set_status(
                self.agent_id, "offline", session_id=self.session_id, session_started_at=self.started_at
            )
        except RelayError as exc:
            log.info("could not mark %s offline: %s", self.agent_id, exc)

    async def check_inbox(self, limit: int, *, mark_read: bool = True) -> InboxBatch:
        """New messages after the agent's read cursor, oldest first; the cursor moves past them."""
        cursor = (await self.client.messages.cursor(self.agent_id)).cursor
        page = await self.client.messages.inbox(self.agent_id, since=cursor, limit=limit + 1)
        messages, more = page[:limit], len(page) > limit
        if messages and mark_read:
            cursor = (await self.client.messages.set_cursor(self.agent_id, messages[-1].id)).cursor
        return InboxBatch(messages=messages, more=more, cursor=cursor)

    async def wait_for_messages(self, timeout_s: float, limit: int, *, mark_read: bool = True) -> InboxBatch:
        """Return as soon as the inbox has something new, or empty after `timeout_s`.

        The event stream is opened first, then the inbox read, so a message arriving in between
        still wakes the wait; between wake-ups the inbox is read every POLL_S for fan-out and
        broadcast messages, which the agent's stream does not carry.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        wake: asyncio.Queue[Event] = asyncio.Queue()
        stream = self.client.events(types=["message.created"], agent_id=self.agent_id)
        pump: asyncio.Task[None] | None = None
        try:
            try:
                await stream.connect()
            except RelayError as exc:
                log.info("no event stream (%s); waiting by reading the inbox", exc)
            else:

                async def forward() -> None:
                    async for event in stream:
                        wake.put_nowait(event)

                pump = asyncio.create_task(forward(), name="relay-mcp-wait")
            while True:
                batch = await self.check_inbox(limit, mark_read=mark_read)
                remaining = deadline - loop.time()
                if batch.messages or remaining <= 0:
                    batch.timed_out = not batch.messages
                    return batch
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.get(), timeout=min(remaining, POLL_S))
                while not wake.empty():
                    wake.get_nowait()
        finally:
            if pump is not None:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError, RelayError):
                    await pump
            await stream.aclose()

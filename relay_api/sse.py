"""Server-sent events: one Redis subscription per node, fanned out to this node's clients.

Pub/sub is at-most-once, so it is only the fast path. Every client keeps a cursor over the group
streams; after the node's subscription drops and comes back, each client replays what it missed
from the streams, and a client that reconnects with `Last-Event-ID` does the same. A client too
slow to keep up overflows its bounded queue and is disconnected; it reconnects and replays, so it
never blocks the others and never grows memory without bound.

On a Redis Cluster the subscription is a plain connection to one node (every node sees every
PUBLISH); when that node fails the next attempt subscribes on another (`EventSubscriber`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field

import msgspec
from litestar.response import ServerSentEventMessage
from litestar.types import ASGIApp, Receive, Scope, Send
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError

from relay_model import keys
from relay_model.connection import STORAGE_ERRORS, EventSubscriber
from relay_model.events import Cursor, Event, EventLog, parse_published, stream_id_tuple

log = logging.getLogger("relay.sse")

REPLAY_LIMIT = 1000
# How long Redis may take to confirm the node's SUBSCRIBE.
SUBSCRIBE_TIMEOUT_S = 5.0
# How long an overflowed client's stream may take to reach its OVERFLOW signal before it is cut off.
EVICT_GRACE_S = 0.5
EVICT_SCOPE_KEY = "relay.sse.evict"


class _Signal:
    def __init__(self, name: str) -> None:
        self.name = name


RESYNC = _Signal("resync")  # the node's subscription was re-established: replay from the streams
OVERFLOW = _Signal("overflow")  # this client fell too far behind: close it
CLOSE = _Signal("close")  # the node is shutting down: end the stream cleanly, the client resumes elsewhere
# How long a closed stream may take to reach its CLOSE signal (it is stuck writing otherwise).
CLOSE_GRACE_S = 2.0


@dataclass(eq=False)
class Client:
    queue: asyncio.Queue[Event | _Signal]
    accepts: Callable[[Event], bool]
    # Ends the client's response even while it is stuck writing to a socket nobody reads.
    evict: Callable[[], None] | None = None
    overflowed: bool = False

    def offer(self, item: Event | _Signal) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True
            # Make room for the one signal that ends this client's stream.
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.queue.put_nowait(OVERFLOW)
            if self.evict is not None:
                # A stream that is only slow ends at OVERFLOW; one blocked on a full socket is cut.
                asyncio.get_running_loop().call_later(EVICT_GRACE_S, self.evict)

    def close(self) -> None:
        """End this client's stream after what it is writing now. Queued events may be dropped: the
        client's `Last-Event-ID` is the last event it was sent, so it replays them where it reconnects."""
        if self.overflowed:
            return
        self.overflowed = True  # accept nothing more
        while True:
            try:
                self.queue.put_nowait(CLOSE)
                break
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    self.queue.get_nowait()
        if self.evict is not None:
            asyncio.get_running_loop().call_later(CLOSE_GRACE_S, self.evict)


@dataclass
class Broker:
    subscriber: EventSubscriber
    events: EventLog
    queue_size: int
    keepalive_s: float
    clients: set[Client] = field(default_factory=set)
    connected: bool = False
    # Set by `close_all` (the node is draining): every stream, including ones opened later, ends.
    closing: bool = False
    # Called after the subscription came back (not at the first connect).
    on_reconnect: Callable[[], Awaitable[None]] | None = None
    _task: asyncio.Task[None] | None = None
    _stopping: bool = False
    _subscribed: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self, wait_s: float = 2.0) -> None:
        """Start subscribing; wait up to `wait_s` for the first subscription (a node may start before
        Redis does: it then serves, not ready, and subscribes later)."""
        self._task = asyncio.create_task(self._run(), name="relay-sse-broker")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), timeout=wait_s)

    def stopping(self) -> bool:
        return self._stopping

    async def stop(self) -> None:
        self._stopping = True
        if self._task:
            # Cancel until it is done: on 3.11 a cancellation that lands as a timeout inside redis-py
            # expires comes out as TimeoutError (an OSError), which the loop treats as an outage.
            while not self._task.done():
                self._task.cancel()
                await asyncio.wait([self._task], timeout=1.0)
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.subscriber.close()

    async def _run(self) -> None:
        backoff = 0.1
        first = True
        while not self.stopping():
            pubsub = None
            try:
                pubsub = await self.subscriber.open()
                await pubsub.subscribe(keys.EVENTS_CHANNEL)
                # Live only once Redis confirmed it (a refused SUBSCRIBE answers an error instead).
                confirmed = await pubsub.get_message(timeout=SUBSCRIBE_TIMEOUT_S)
                if confirmed is None or confirmed.get("type") != "subscribe":
                    raise RedisConnectionError("the event subscription was not confirmed")
                self.connected = True
                self._subscribed.set()
                backoff = 0.1
                # Clients that started before this subscription was live (at start-up, or during an
                # outage) replay from their cursor what was published meanwhile; duplicates are skipped.
                for client in list(self.clients):
                    client.offer(RESYNC)
                if not first and self.on_reconnect is not None:
                    # Redis may have come back empty (a restart without persistence).
                    await self.on_reconnect()
                first = False
                await self._fan_out(pubsub)
            except asyncio.CancelledError:
                raise
            except STORAGE_ERRORS as exc:
                if self.stopping():
                    return
                if self.connected:
                    log.warning("event subscription lost: %s", exc)
                self.connected = False
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
            finally:
                with contextlib.suppress(Exception):
                    if pubsub is not None:
                        await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _fan_out(self, pubsub: PubSub) -> None:
        """Hand every published event to this node's clients, until the subscription fails."""
        while True:
            message = await pubsub.get_message(timeout=self.keepalive_s)
            if message is None or message.get("type") != "message" or not self.clients:
                continue
            event = parse_published(message["data"])
            if event is None:
                continue
            for client in list(self.clients):
                client.offer(event)
                if client.overflowed:
                    # Its stream may be stuck in a write and never reach its own clean-up.
                    self.clients.discard(client)

    def add(self, accepts: Callable[[Event], bool], evict: Callable[[], None] | None = None) -> Client:
        client = Client(queue=asyncio.Queue(self.queue_size), accepts=accepts, evict=evict)
        self.clients.add(client)
        if self.closing:
            client.close()
        return client

    def close_all(self) -> None:
        """End every stream cleanly (the node is going away); streams opened afterwards end at once."""
        self.closing = True
        for client in list(self.clients):
            client.close()

    def remove(self, client: Client) -> None:
        self.clients.discard(client)

    async def start_cursor(self, resume: Cursor | None) -> Cursor:
        """Where a new stream starts: the resume point, else the current head of every stream.

        Call it after `add` (so no event slips between the head and the subscription) and before
        the response starts, so a Redis outage is still a 503 rather than a broken stream; on failure
        the caller removes its client.
        """
        return resume if resume is not None else await self.events.head()

    async def stream(
        self, client: Client, cursor: Cursor, *, replay: bool
    ) -> AsyncGenerator[ServerSentEventMessage, None]:
        """The SSE body for one client, from `cursor` on (replaying first when it is a resume point)."""
        try:
            # The opening block names where this stream starts: an `id:` without data moves the
            # client's resume point (EventSource's lastEventId) without being an event, so a client
            # that reconnects before any event arrived still resumes exactly here.
            yield ServerSentEventMessage(data=None, comment="connected", retry=2000, id=cursor.encode())
            if replay:
                async for message in self._replay(client, cursor):
                    yield message
            while True:
                try:
                    # Not `wait_for`: on Python 3.11 it wraps every get in a new Task, one per client
                    # per event (at 1,000 clients, 1,000 tasks for each event).
                    async with asyncio.timeout(self.keepalive_s):
                        item = await client.queue.get()
                except TimeoutError:
                    yield ServerSentEventMessage(data=None, comment="keep-alive")
                    continue
                if item is OVERFLOW:
                    log.info("closing a slow SSE client after its queue overflowed")
                    return
                if item is CLOSE:
                    yield ServerSentEventMessage(data=None, comment="node shutting down; reconnect with Last-Event-ID")
                    return
                if item is RESYNC:
                    async for message in self._replay(client, cursor):
                        yield message
                    continue
                assert isinstance(item, Event)
                live = self._accept(client, cursor, item)
                if live is not None:
                    yield live
        except STORAGE_ERRORS as exc:
            # Replay needs Redis; without it the stream ends and the client resumes with Last-Event-ID.
            log.warning("closing an SSE stream: storage unavailable (%s)", exc)
        finally:
            self.remove(client)

    def _accept(self, client: Client, cursor: Cursor, event: Event) -> ServerSentEventMessage | None:
        if cursor.seen(event):
            return None
        cursor.advance(event)
        if not client.accepts(event):
            return None
        return ServerSentEventMessage(data=event.envelope_text(), id=cursor.encode())

    async def _replay(self, client: Client, cursor: Cursor) -> AsyncGenerator[ServerSentEventMessage, None]:
        """Everything after the cursor, in pages of REPLAY_LIMIT until caught up (live events that
        arrive meanwhile wait in the client's queue and are skipped there when already replayed)."""
        # Groups the cursor does not name yet start from their current head, and a position past the
        # head (an id from the future, or from a Redis that was since emptied) would hide every new
        # event as already seen, so it is moved back to the head.
        head = await self.events.head()
        for group, position in head.positions.items():
            mine = cursor.positions.get(group)
            if mine is None or stream_id_tuple(mine) > stream_id_tuple(position):
                cursor.positions[group] = position
        while True:
            page = await self.events.replay(cursor, limit=REPLAY_LIMIT)
            for event in page:
                message = self._accept(client, cursor, event)
                if message is not None:
                    yield message
            if len(page) < REPLAY_LIMIT:
                return


def type_filter(patterns: list[str], agent_id: str | None) -> Callable[[Event], bool]:
    """`agent.*` matches by prefix, `message.created` exactly; `agent_id` keeps events about one agent."""
    exact = {p for p in patterns if not p.endswith("*")}
    prefixes = tuple(p[:-1] for p in patterns if p.endswith("*"))
    # The id as a JSON string, the way it appears inside event data (quotes and controls escaped).
    needle = msgspec.json.encode(agent_id).decode() if agent_id is not None else ""

    def accepts(event: Event) -> bool:
        if patterns and event.type not in exact and not event.type.startswith(prefixes):
            return False
        if agent_id is not None:
            return agent_id in (event.source, event.subject) or needle in event.data
        return True

    return accepts


def sse_eviction_middleware(app: ASGIApp) -> ASGIApp:
    """Lets the broker cut off an SSE response that is blocked writing to a client that stopped reading.

    A client that never reads fills the socket buffers; the server's `send` then waits forever and
    the stream can never get to its OVERFLOW signal. The broker calls the function it finds under
    `EVICT_SCOPE_KEY`, which expires a timeout around the whole response: the pending write is
    cancelled and the connection is closed (uvicorn logs that the response was not completed).
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        active = True

        def evict() -> None:
            if active:
                deadline.reschedule(loop.time())

        try:
            async with asyncio.timeout(None) as deadline:
                scope[EVICT_SCOPE_KEY] = evict  # type: ignore[literal-required]
                await app(scope, receive, send)
        except TimeoutError:
            log.info("cut off an SSE client that stopped reading")
        finally:
            active = False

    return middleware

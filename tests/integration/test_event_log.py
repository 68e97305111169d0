"""The event log and the SSE broker's replay, on a real Redis (no HTTP: an SSE stream needs a real server)."""

from __future__ import annotations

import asyncio

import pytest

from relay_api import sse
from relay_api.sse import Broker, type_filter
from relay_model import keys
from relay_model.connection import EventSubscriber
from relay_model.events import Cursor, parse_published
from relay_model.relay import Relay


async def test_published_events_survive_ids_with_newlines_and_nul(relay: Relay) -> None:
    pubsub = relay.redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(keys.EVENTS_CHANNEL)
    try:
        odd = 'line\nbreak\x00"quoted"'
        await relay.events.emit(keys.BUS, "test.odd", odd, odd + "\n2", b'{"x":1}')
        message = None
        async with asyncio.timeout(5):
            while message is None:
                message = await pubsub.get_message(timeout=1)
        event = parse_published(message["data"])
        assert event is not None
        assert (event.type, event.source, event.subject, event.data) == ("test.odd", odd, odd + "\n2", '{"x":1}')
        assert b'"source":"line\\nbreak\\u0000\\"quoted\\""' in event.envelope()
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
    assert parse_published("not an event") is None


async def test_replay_pages_through_more_than_one_batch_in_order(relay: Relay, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sse, "REPLAY_LIMIT", 10)
    start = await relay.events.head()
    for i in range(25):
        group = keys.BUS if i % 3 else keys.CMD
        await relay.events.emit(group, "test.step", "t", str(i), b"{}")
    broker = Broker(EventSubscriber(relay.redis), relay.events, queue_size=10, keepalive_s=1)
    client = broker.add(type_filter([], None))
    cursor = Cursor(dict(start.positions))
    got = [m async for m in broker._replay(client, cursor)]
    subjects = [int(m.data.split('"subject":"')[1].split('"')[0]) for m in got]  # type: ignore[union-attr]
    # Exact order within a group; across groups (separate streams) only by the millisecond.
    assert sorted(subjects) == list(range(25))
    assert [i for i in subjects if i % 3] == [i for i in range(25) if i % 3]
    assert [i for i in subjects if not i % 3] == [i for i in range(25) if not i % 3]
    # Replaying from the last id handed out yields nothing more.
    assert [m async for m in broker._replay(client, Cursor.parse(got[-1].id))] == []  # type: ignore[arg-type]

"""`events()`: filters, resuming with `last_event_id`, and reconnecting across a killed node with no
event lost or repeated (two real nodes behind one load-balanced URL)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from relay_client import AsyncClient, Client, Event
from tests.client.conftest import node_env
from tests.conftest import ADMIN_TOKEN
from tests.lb import LoadBalancer
from tests.procs import ApiNode

pytestmark = pytest.mark.multinode

SENDS = 150
KILL_AFTER = 50


def message_ids(events: list[Event]) -> list[int]:
    return [int(e.data["message"]["id"]) for e in events]


def test_filters_and_resume(url: str) -> None:
    with Client(url, ADMIN_TOKEN) as relay:
        relay.agents.register("a")
        relay.agents.register("b")
        with relay.events(types=["message.created"], agent_id="b") as stream:
            stream.connect()
            relay.messages.send("a", "c", "not about b")
            sent = [relay.messages.send("a", "b", f"m{i}").id for i in range(5)]
            first = [next(stream), next(stream)]
            assert message_ids(first) == sent[:2]
            assert first[0].type == "message.created" and first[0].source == "a"
            assert first[0].subject == str(sent[0]) and first[0].data["message"]["body"] == "m0"
            assert first[1].id is not None and stream.last_event_id == first[1].id
        # Another stream resumes after the second event: exactly the other three.
        with relay.events(types="message.created", agent_id="b", last_event_id=first[1].id) as resumed:
            assert message_ids([next(resumed) for _ in range(3)]) == sent[2:]
        with relay.events(types=["agent.*"]) as agents:
            agents.connect()
            relay.agents.set_status("a", "busy")
            event = next(agents)
            assert (event.type, event.data["agent"]["id"], event.data["agent"]["status"]) == ("agent.status", "a", "busy")


def test_a_stream_knows_where_it_starts_before_any_event(url: str) -> None:
    """The opening block carries the stream's position, so even a stream that saw no event resumes exactly."""
    with Client(url, ADMIN_TOKEN) as relay:
        relay.agents.register("b")
        relay.messages.send("x", "b", "before the stream")
        with relay.events(types=["message.created"]) as quiet:
            quiet.connect()
            start = quiet.last_event_id
        assert start is not None and start.startswith("bus=")
        sent = [relay.messages.send("x", "b", f"m{i}").id for i in range(3)]
        with relay.events(types=["message.created"], last_event_id=start) as resumed:
            assert message_ids([next(resumed) for _ in range(3)]) == sent


@pytest.fixture
def two_nodes_behind_one_url(redis: Redis, redis_url: str, tmp_path: Path) -> Iterator[tuple[LoadBalancer, ApiNode, ApiNode]]:
    env = node_env(redis_url)
    first, second = ApiNode(env, tmp_path / "api-0.log"), ApiNode(env, tmp_path / "api-1.log")
    try:
        first.wait_ready()
        second.wait_ready()
        with LoadBalancer([first.port, second.port]) as lb:
            yield lb, first, second
    finally:
        first.stop()
        second.stop()


def test_sync_stream_survives_a_killed_node(two_nodes_behind_one_url: tuple[LoadBalancer, ApiNode, ApiNode]) -> None:
    lb, doomed, survivor = two_nodes_behind_one_url
    got: list[Event] = []
    with Client(lb.url, ADMIN_TOKEN) as streaming, Client(survivor.url, ADMIN_TOKEN) as sender:
        sender.agents.register("sink")
        stream = streaming.events(types=["message.created"], read_timeout=5)
        stream.connect()
        assert lb.served == [doomed.port]  # the stream is on the node that will die

        def consume() -> None:
            with stream:
                for event in stream:
                    got.append(event)
                    if len(got) >= SENDS:
                        return

        reader = threading.Thread(target=consume, daemon=True)
        reader.start()
        sent = []
        for i in range(SENDS):
            if i == KILL_AFTER:
                doomed.kill()
            sent.append(sender.messages.send("src", "sink", f"m{i}").id)
        reader.join(timeout=60)
        assert not reader.is_alive(), f"stream got {len(got)} of {SENDS} events"
    assert message_ids(got) == sent  # every event once, in order
    assert stream.reconnects >= 1 and survivor.port in lb.served


async def test_async_stream_survives_a_killed_node(
    two_nodes_behind_one_url: tuple[LoadBalancer, ApiNode, ApiNode],
) -> None:
    lb, doomed, survivor = two_nodes_behind_one_url
    got: list[Event] = []
    async with AsyncClient(lb.url, ADMIN_TOKEN) as streaming, AsyncClient(survivor.url, ADMIN_TOKEN) as sender:
        await sender.agents.register("sink")
        async with streaming.events(types=["message.created"], agent_id="sink", read_timeout=5) as stream:
            await stream.connect()
            assert lb.served == [doomed.port]

            async def consume() -> None:
                async for event in stream:
                    got.append(event)
                    if len(got) >= SENDS:
                        return

            reader = asyncio.create_task(consume())
            sent = []
            for i in range(SENDS):
                if i == KILL_AFTER:
                    await asyncio.to_thread(doomed.kill)
                sent.append((await sender.messages.send("src", "sink", f"m{i}")).id)
            try:
                await asyncio.wait_for(reader, 60)
            except TimeoutError:
                pytest.fail(f"stream got {len(got)} of {SENDS} events")
    assert message_ids(got) == sent
    assert stream.reconnects >= 1 and survivor.port in lb.served

"""SSE under pressure on real nodes: a client that stops reading, and a node killed mid-flight."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from tests.conftest import ADMIN_TOKEN, AUTH
from tests.procs import ApiNode, api_nodes, relay_env
from tests.sse_client import SSE

pytestmark = pytest.mark.multinode

BODY = "x" * 60_000  # each message.created event carries it: ~60 KB per event
COUNT = 120  # ~7 MB: more than the kernel will buffer for a client that never reads


def open_silent_client(node: ApiNode) -> socket.socket:
    """An SSE client that sends its request and then never reads a byte."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", node.port))
    sock.sendall(
        f"GET /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH['Authorization']}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    return sock


def read_to_eof(sock: socket.socket, timeout: float) -> bool:
    """Drain the socket; True when the server closed it within `timeout`."""
    deadline = time.monotonic() + timeout
    sock.settimeout(0.5)
    while time.monotonic() < deadline:
        try:
            if sock.recv(1 << 20) == b"":
                return True
        except TimeoutError:
            continue
        except ConnectionResetError:
            return True
    return False


async def sse_clients(c: httpx.AsyncClient, node: ApiNode) -> int:
    count: int = (await c.get(node.url + "/api/health")).json()["sse"]["clients"]
    return count


async def test_a_client_that_stops_reading_is_cut_off_and_delays_no_one(
    redis_url: str, redis: Redis, tmp_path: Path
) -> None:
    env = relay_env(redis_url, ADMIN_TOKEN, AGENT_RELAY_SSE_CLIENT_QUEUE="8", AGENT_RELAY_SSE_KEEPALIVE_S="0.3")
    with api_nodes(1, env, tmp_path) as (node,):
        async with (
            httpx.AsyncClient(headers=AUTH, timeout=10) as c,
            SSE(node.url, params={"types": "message.*"}) as good,
        ):
            silent = open_silent_client(node)
            try:
                deadline = time.monotonic() + 10
                while await sse_clients(c, node) < 2:
                    assert time.monotonic() < deadline, "silent client never registered"
                    await asyncio.sleep(0.05)

                async def consume() -> list[int]:
                    return [(await good.next_event(timeout=15)).json["data"]["message"]["id"] for _ in range(COUNT)]

                reader = asyncio.create_task(consume())
                sent = []
                for i in range(COUNT):
                    r = await c.post(
                        node.url + "/api/messages", json={"from": "a", "to": "b", "body": BODY, "subject": str(i)}
                    )
                    assert r.status_code == 201
                    sent.append(r.json()["id"])
                # The reading client got everything, in order, while the silent one was stuck.
                assert await asyncio.wait_for(reader, 30) == sent
                # The silent client was dropped by the node (its queue overflowed) ...
                deadline = time.monotonic() + 15
                while await sse_clients(c, node) != 1:
                    assert time.monotonic() < deadline, "the silent client was never disconnected"
                    await asyncio.sleep(0.1)
                # ... and its connection ends: reading it now reaches EOF instead of an endless stream.
                assert await asyncio.to_thread(read_to_eof, silent, 20)
                # The good client is still live.
                r = await c.post(node.url + "/api/messages", json={"from": "a", "to": "b"})
                assert (await good.next_event()).json["data"]["message"]["id"] == r.json()["id"]
            finally:
                silent.close()
        assert node.alive()


async def test_messages_accepted_by_a_killed_node_are_delivered_by_the_other(
    redis_url: str, redis: Redis, tmp_path: Path
) -> None:
    env = relay_env(redis_url, ADMIN_TOKEN, AGENT_RELAY_SSE_KEEPALIVE_S="0.3")
    with api_nodes(2, env, tmp_path) as (doomed, survivor):
        async with httpx.AsyncClient(headers=AUTH, timeout=10) as c:
            async with SSE(survivor.url) as sse:
                await c.post(doomed.url + "/api/agents", json={"id": "rcpt"})
                resume_at = (await sse.next_event()).id
            accepted = []
            for i in range(10):
                r = await c.post(doomed.url + "/api/messages", json={"from": "s", "to": "rcpt", "body": str(i)})
                assert r.status_code == 201
                accepted.append(r.json()["id"])
            doomed.kill()
            assert not doomed.alive()
            inbox = (await c.get(survivor.url + "/api/messages", params={"for": "rcpt"})).json()
            assert [m["id"] for m in inbox] == accepted
            async with SSE(survivor.url, last_event_id=resume_at, params={"types": "message.created"}) as replay:
                got = await replay.events(len(accepted))
                assert [e.json["data"]["message"]["id"] for e in got] == accepted

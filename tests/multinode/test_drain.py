"""Drain and readiness on real `relay serve` processes.

- SIGTERM a node holding an open SSE stream: its readiness is 503 `draining` at once, the stream
  ends cleanly (a complete response, no error logged), and the client resumes on the other node
  with `Last-Event-ID` without losing or repeating an event.
- A Redis blip shorter than the readiness budget keeps `/readyz` at 200 (requests meanwhile are 503s).
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import httpx
import pytest

from relay_api.embedded import EmbeddedRedis
from tests.conftest import ADMIN_TOKEN, AUTH
from tests.procs import ApiNode, relay_env
from tests.sse_client import SSE
from tests.waiting import wait_until

pytestmark = pytest.mark.multinode


async def read_stream_to_end(node_url: str, got: list[dict[str, str]], comments: list[str]) -> None:
    """Read `/api/events` until the server ends it; an HTTP error (a cut stream) propagates."""
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as client,
        client.stream("GET", node_url + "/api/events", headers=AUTH, params={"types": "message.created"}) as response,
    ):
        assert response.status_code == 200
        block: dict[str, str] = {}
        async for line in response.aiter_lines():
            if line.startswith(":"):
                comments.append(line[1:].strip())
            elif line.startswith("id:"):
                block["id"] = line[3:].strip()
            elif line.startswith("data:"):
                block["data"] = line[5:].strip()
            elif line == "" and "data" in block:
                got.append(block)
                block = {}


def send(node: ApiNode, body: str) -> int:
    r = httpx.post(node.url + "/api/messages", json={"from": "ops", "to": "dst", "body": body}, headers=AUTH, timeout=10)
    assert r.status_code == 201, r.text
    message_id: int = r.json()["id"]
    return message_id


async def test_sigterm_drains_a_node_and_its_sse_client_resumes_elsewhere_without_loss(
    redis_url: str, tmp_path: Path
) -> None:
    env = relay_env(redis_url, ADMIN_TOKEN, AGENT_RELAY_SSE_KEEPALIVE_S="0.3", AGENT_RELAY_DRAIN_DELAY_S="1")
    a = ApiNode(env, tmp_path / "a.log").wait_ready()
    b = ApiNode(env, tmp_path / "b.log").wait_ready()
    try:
        httpx.post(b.url + "/api/agents", json={"id": "dst"}, headers=AUTH, timeout=10).raise_for_status()
        got: list[dict[str, str]] = []
        comments: list[str] = []
        reader = asyncio.create_task(read_stream_to_end(a.url, got, comments))
        await asyncio.to_thread(wait_until, lambda: "connected" in comments, "the stream to open")
        first = await asyncio.to_thread(send, b, "before")
        await asyncio.to_thread(wait_until, lambda: len(got) == 1, "the first event on A")

        a.popen.send_signal(signal.SIGTERM)
        ready = await asyncio.to_thread(httpx.get, a.url + "/readyz", timeout=5)
        assert (ready.status_code, ready.json()) == (503, {"ok": False, "error": "draining"})
        during = [await asyncio.to_thread(send, b, f"during-{i}") for i in range(5)]

        # The stream ends by itself, as a complete response (an error would raise here).
        await asyncio.wait_for(reader, timeout=20)
        assert comments[-1] == "node shutting down; reconnect with Last-Event-ID"
        # Sent while the client is between nodes: it gets them by replay on B.
        during += [await asyncio.to_thread(send, b, f"gap-{i}") for i in range(3)]
        assert await asyncio.to_thread(a.popen.wait, 20) is not None

        last_id = got[-1]["id"]
        seen_on_a = [_message_id(block) for block in got]
        async with SSE(b.url, last_event_id=last_id, params={"types": "message.created"}) as resumed:
            missed = [m for m in during if m not in seen_on_a]
            replayed = [_message_id({"data": e.data or ""}) for e in await resumed.events(len(missed))]
            after = await asyncio.to_thread(send, b, "after")
            replayed.append((await resumed.next_event()).json["data"]["message"]["id"])
            assert await resumed.quiet_for(0.5) == []
        delivered = seen_on_a + replayed
        assert delivered == [first, *during, after]  # every id once, in order, across the two nodes

        log = a.log()
        assert "draining: SIGTERM received" in log
        assert "Traceback" not in log and '"level":"ERROR"' not in log, log
    finally:
        a.stop()
        b.stop()


def _message_id(block: dict[str, str]) -> int:
    import json

    message_id: int = json.loads(block["data"])["data"]["message"]["id"]
    return message_id


async def test_readiness_rides_out_a_redis_blip_shorter_than_its_budget(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis", persistent=False).start()
    node = ApiNode(relay_env(server.url, ADMIN_TOKEN, AGENT_RELAY_READY_REDIS_BUDGET_S="60"), tmp_path / "api.log")
    try:
        node.wait_ready()
        server.stop()
        # Requests fail fast meanwhile, but the node stays in rotation: a blip must not empty the Service.
        r = httpx.get(node.url + "/api/agents", headers=AUTH, timeout=10)
        assert (r.status_code, r.json()) == (503, {"error": "storage unavailable"})
        deadline = time.monotonic() + 20
        while True:
            ready = httpx.get(node.url + "/readyz", timeout=5)
            assert ready.status_code == 200, ready.text
            if "redis" in ready.json():
                break  # the background check noticed the failure and counts it against the budget
            assert time.monotonic() < deadline, "readiness never noticed the outage"
            time.sleep(0.1)
        assert ready.json()["redis"].startswith("failing for ")
        server = EmbeddedRedis(tmp_path / "redis", server.port, persistent=False).start()
        deadline = time.monotonic() + 20
        while httpx.get(node.url + "/readyz", timeout=5).json() != {"ok": True}:
            assert time.monotonic() < deadline, "readiness did not recover"
            time.sleep(0.1)
        assert httpx.get(node.url + "/api/agents", headers=AUTH, timeout=10).status_code == 200
    finally:
        node.stop()
        server.stop()

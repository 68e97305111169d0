"""A real `relay serve` node whose Redis goes away and comes back: 503s meanwhile, never 500, then recovery."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from relay_api.embedded import EmbeddedRedis
from tests.conftest import ADMIN_TOKEN, AUTH
from tests.procs import api_nodes, relay_env
from tests.sse_client import SSE

pytestmark = pytest.mark.multinode

DOWN = {"error": "storage unavailable"}


def wait_for(url: str, status: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = httpx.get(url, timeout=2).status_code
            if last == status:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} never answered {status} (last {last})")


async def test_api_answers_503_while_redis_is_down_and_recovers_by_itself(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis", persistent=True).start()
    try:
        # A small readiness budget: this outage is meant to take the node out of rotation.
        env = relay_env(server.url, ADMIN_TOKEN, AGENT_RELAY_SSE_KEEPALIVE_S="0.3", AGENT_RELAY_READY_REDIS_BUDGET_S="0.5")
        with api_nodes(1, env, tmp_path) as (node,):
            async with httpx.AsyncClient(base_url=node.url, headers=AUTH, timeout=10) as c:
                assert (await c.post("/api/agents", json={"id": "survivor"})).status_code == 201
                async with SSE(node.url, params={"types": "message.created"}) as sse:
                    server.stop()
                    calls = [
                        ("GET", "/api/agents", None),
                        ("GET", "/api/agents/survivor", None),
                        ("POST", "/api/agents", {"id": "x"}),
                        ("POST", "/api/messages", {"from": "a", "to": "survivor"}),
                        ("GET", "/api/messages?for=survivor", None),
                        ("POST", "/api/messages/1/claim", {"agentId": "a"}),
                        ("PATCH", "/api/agents/survivor/status", {"status": "busy"}),
                        ("GET", "/api/activity", None),
                        ("GET", "/api/events", None),
                    ]
                    for method, path, body in calls:
                        r = await c.request(method, path, json=body)
                        assert (r.status_code, r.json()) == (503, DOWN), (method, path)
                    r = await c.get("/api/health")
                    assert r.status_code == 503 and r.json()["error"] == "storage unavailable"
                    assert r.json()["redis"]["ok"] is False
                    wait_for(node.url + "/readyz", 503)
                    assert (await c.get("/readyz")).json()["error"] == "storage unavailable"
                    assert (await c.get("/healthz")).status_code == 200
                    # Bad input is still judged first and stays a 400.
                    r = await c.post("/api/messages", json={"to": "x"})
                    assert (r.status_code, r.json()) == (400, {"error": "from required"})

                    server = EmbeddedRedis(tmp_path / "redis", server.port, persistent=True).start()
                    wait_for(node.url + "/readyz", 200)
                    assert (await c.get("/api/agents/survivor")).status_code == 200
                    r = await c.post("/api/messages", json={"from": "a", "to": "survivor", "body": "back"})
                    assert r.status_code == 201
                    # The node re-subscribed by itself: the SSE client opened before the outage sees it.
                    event = await sse.next_event(timeout=15)
                    assert event.json["data"]["message"]["id"] == r.json()["id"]
                assert node.alive()
                assert "Traceback" not in node.log()
    finally:
        server.stop()


@pytest.fixture
def small_limit_node(redis_url: str, tmp_path: Path) -> Iterator[str]:
    env = relay_env(redis_url, ADMIN_TOKEN, AGENT_RELAY_MAX_BODY_BYTES="300")
    with api_nodes(1, env, tmp_path) as (node,):
        yield node.url


def test_body_limit_holds_for_chunked_bodies_on_a_real_node(small_limit_node: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"from":"a","to":"b","body":"'
        for _ in range(10):
            yield b"x" * 100
        yield b'"}'

    r = httpx.post(
        small_limit_node + "/api/messages", content=chunks(), headers={**AUTH, "content-type": "application/json"}
    )
    assert (r.status_code, r.json()) == (413, {"error": "request body too large"})
    r = httpx.post(small_limit_node + "/api/messages", json={"from": "a", "to": "b", "body": "x" * 400}, headers=AUTH)
    assert (r.status_code, r.json()) == (413, {"error": "request body too large"})


async def test_a_node_started_before_redis_serves_503s_then_comes_up_complete(tmp_path: Path) -> None:
    from relay_api.embedded import free_port
    from tests.procs import ApiNode

    redis_port = free_port()
    env = relay_env(f"redis://127.0.0.1:{redis_port}/0", ADMIN_TOKEN)
    node = ApiNode(env, tmp_path / "api.log")
    server: EmbeddedRedis | None = None
    try:
        wait_for(node.url + "/healthz", 200)
        assert httpx.get(node.url + "/readyz", timeout=5).status_code == 503
        r = httpx.get(node.url + "/api/agents", headers=AUTH, timeout=10)
        assert (r.status_code, r.json()) == (503, DOWN)
        server = EmbeddedRedis(tmp_path / "redis", redis_port, persistent=False).start()
        wait_for(node.url + "/readyz", 200)
        # Start-up work that needed Redis (the built-in agents) finished by itself.
        deadline = time.monotonic() + 15
        while httpx.get(node.url + "/api/agents/user", headers=AUTH, timeout=5).status_code != 200:
            assert time.monotonic() < deadline, node.log()
            time.sleep(0.1)
        async with SSE(node.url) as sse:
            r = httpx.post(node.url + "/api/agents", json={"id": "late"}, headers=AUTH, timeout=5)
            assert r.status_code == 201
            assert (await sse.next_event()).json["subject"] == "late"
        assert "Traceback" not in node.log()
    finally:
        node.stop()
        if server:
            server.stop()

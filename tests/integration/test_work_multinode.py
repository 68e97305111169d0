"""Two real `relay serve` nodes on one Redis: task claim race, integration rate limit counted across
nodes, and a pool slot moving when its agent dies."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from relay_model import keys
from relay_model.agents.agents import SessionGuard
from relay_model.clock import now_ms
from relay_model.messages.reaper import move_pool_slots
from relay_model.reaper import ReapReport
from relay_model.relay import Relay
from relay_model.settings import Settings
from tests.conftest import ADMIN_TOKEN, AUTH, DataTier
from tests.procs import api_nodes, relay_env, workers
from tests.receiver import Receiver, callback_receiver

pytestmark = pytest.mark.multinode

HOOK = {"name": "ci", "token": "ci-token-0123456789abcdef", "targets": [], "channels": []}


async def test_task_claim_race_has_one_winner(tier_redis: Redis, tier: DataTier, tmp_path: Path) -> None:
    with api_nodes(2, tier.env(ADMIN_TOKEN), tmp_path) as nodes:
        async with httpx.AsyncClient(headers=AUTH, timeout=10) as http:
            r = await http.post(nodes[0].url + "/api/tasks", json={"title": "one winner"})
            task_id = r.json()["id"]
            results = await asyncio.gather(
                *(
                    http.post(f"{nodes[i % 2].url}/api/tasks/{task_id}/claim", json={"agentId": f"agent-{i}"})
                    for i in range(40)
                )
            )
            codes = sorted(r.status_code for r in results)
            assert codes == [200] + [409] * 39
            winner = next(r.json()["task"]["claimedBy"] for r in results if r.status_code == 200)
            for node in nodes:
                assert (await http.get(f"{node.url}/api/tasks/{task_id}")).json()["claimedBy"] == winner


async def test_integration_rate_limit_counts_across_nodes(redis: Redis, redis_url: str, tmp_path: Path) -> None:
    env = relay_env(
        redis_url,
        ADMIN_TOKEN,
        AGENT_RELAY_INTEGRATIONS=json.dumps([HOOK]),
        AGENT_RELAY_INTEGRATION_RATE_LIMIT_PER_MINUTE="6",
    )
    with api_nodes(2, env, tmp_path) as nodes:
        # The limit counts per clock minute: start early in one, so the burst stays inside it.
        if 60_000 - now_ms() % 60_000 < 10_000:
            time.sleep((60_000 - now_ms() % 60_000) / 1000 + 0.05)
        headers = {"Authorization": f"Bearer {HOOK['token']}"}
        async with httpx.AsyncClient(headers=headers, timeout=10) as http:
            codes = []
            for i in range(6):
                r = await http.post(nodes[i % 2].url + "/api/integrations/events", json={"target": "x", "title": "t"})
                codes.append(r.status_code)
            assert codes == [201] * 6
            for node in nodes:
                r = await http.post(node.url + "/api/integrations/events", json={"target": "x", "title": "t"})
                assert (r.status_code, r.json()) == (429, {"error": "integration rate limit exceeded"})
                assert int(r.headers["retry-after"]) >= 1


async def _sse_events(url: str, types: str, want: int, seconds: float) -> list[dict]:  # type: ignore[type-arg]
    """Read at most `want` events of the given types from a node's SSE stream, for at most `seconds`."""
    found: list[dict] = []  # type: ignore[type-arg]

    async def read() -> None:
        async with (
            httpx.AsyncClient(headers=AUTH, timeout=httpx.Timeout(seconds)) as http,
            http.stream("GET", f"{url}/api/events?types={types}") as response,
        ):
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    found.append(json.loads(line[5:]))
                    if len(found) >= want:
                        return

    try:
        await asyncio.wait_for(read(), timeout=seconds)
    except TimeoutError:
        pass
    return found


async def test_pool_slot_moves_when_its_agent_dies(redis: Redis, redis_url: str, tmp_path: Path) -> None:
    with api_nodes(2, relay_env(redis_url, ADMIN_TOKEN), tmp_path) as (a, b):
        async with httpx.AsyncClient(headers=AUTH, timeout=10) as http:
            await http.post(a.url + "/api/agents", json={"id": "slack", "kind": "channel"})
            for agent in ("p1", "p2"):
                await http.post(a.url + "/api/agents", json={"id": agent, "tags": ["pool:backend"]})
            r = await http.post(b.url + "/api/channel-bindings", json={"channelId": "slack", "target": "pool:backend"})
            binding = r.json()
            assert binding["poolAgentId"] == "p1"

            watcher = asyncio.create_task(_sse_events(b.url, "pool.binding_changed", 1, 8.0))
            await asyncio.sleep(0.5)  # let the SSE client subscribe before the move
            # p1 dies: its heartbeats stop and the agents' reaper marks it stale (done here on the shared
            # Redis), then a reaper pass of this area moves the slot. Two reapers race: one move.
            settings = Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN)
            reaper_1, reaper_2 = Relay(redis, settings), Relay(redis, settings)
            await reaper_1.agents.set_status("p1", "stale", SessionGuard())
            await asyncio.gather(
                move_pool_slots(reaper_1, now_ms(), ReapReport()), move_pool_slots(reaper_2, now_ms(), ReapReport())
            )
            seen = await watcher
            assert [e["data"] for e in seen] == [
                {
                    "bindingId": binding["id"],
                    "channelId": "slack",
                    "pool": "backend",
                    "previousAgentId": "p1",
                    "newAgentId": "p2",
                }
            ]
            changes = [e for e in await redis.xrange(keys.events(keys.BUS)) if e[1]["t"] == "pool.binding_changed"]
            assert len(changes) == 2  # the first assignment to p1, then the one move
            for node in (a, b):
                listed = (await http.get(node.url + "/api/channel-bindings")).json()
                assert listed[0]["poolAgentId"] == "p2"
            r = await http.post(a.url + "/api/channels/slack/events", json={"body": "page"})
            assert [m["to"] for m in r.json()["messages"]] == ["p2"]


async def test_worker_process_delivers_callbacks(redis: Redis, redis_url: str, tmp_path: Path) -> None:
    with callback_receiver() as receiver:
        await _worker_delivers(redis_url, tmp_path, receiver)


async def _worker_delivers(redis_url: str, tmp_path: Path, receiver: Receiver) -> None:
    hook = {**HOOK, "callbackUrl": receiver.url + "/hook", "secret": "s3cret"}
    env = relay_env(redis_url, ADMIN_TOKEN, AGENT_RELAY_INTEGRATIONS=json.dumps([hook]))
    with api_nodes(1, env, tmp_path) as (node,), workers(1, env, tmp_path) as (worker,):
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {HOOK['token']}"}, timeout=10) as http:
            r = await http.post(node.url + "/api/integrations/events", json={"target": "x", "title": "deploy"})
            assert r.status_code == 201
        deadline = time.monotonic() + 20
        while not receiver.hits and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert receiver.hits, worker.log()
        path, headers, body = receiver.hits[0]
        assert path == "/hook" and json.loads(body)["task"]["title"] == "deploy"
        assert headers["x-agent-relay-signature"].startswith("sha256=")

"""Two `relay serve` processes on one Redis, then on a Redis Cluster (`tier`): state, live events,
claims and idempotency across nodes."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from relay_api.embedded import LocalCluster
from relay_model import keys
from tests.conftest import AUTH
from tests.procs import ApiNode
from tests.sse_client import SSE

pytestmark = pytest.mark.multinode


def http() -> httpx.AsyncClient:
    return httpx.AsyncClient(headers=AUTH, timeout=httpx.Timeout(10.0), limits=httpx.Limits(max_connections=100))


async def post(c: httpx.AsyncClient, url: str, body: dict[str, Any], expect: int = 201) -> dict[str, Any]:
    r = await c.post(url, json=body)
    assert r.status_code == expect, r.text
    value: dict[str, Any] = r.json()
    return value


async def test_agent_registered_on_one_node_is_read_on_the_other(nodes: list[ApiNode], tier_redis: Redis) -> None:
    a, b = nodes
    async with http() as c:
        await post(c, a.url + "/api/agents", {"id": "cross", "tags": ["t"], "label": "L"})
        r = await c.get(b.url + "/api/agents/cross")
        assert r.status_code == 200 and r.json()["tags"] == ["t"] and r.json()["label"] == "L"
        assert [x["id"] for x in (await c.get(b.url + "/api/agents?tag=t")).json()] == ["cross"]
        r = await c.patch(b.url + "/api/agents/cross/status", json={"status": "busy"})
        assert r.status_code == 200
        assert (await c.get(a.url + "/api/agents/cross")).json()["status"] == "busy"


async def test_message_sent_on_one_node_reaches_an_sse_client_of_the_other(
    nodes: list[ApiNode], tier_redis: Redis
) -> None:
    a, b = nodes
    async with SSE(b.url, params={"types": "message.*"}) as sse, http() as c:
        sent = await post(c, a.url + "/api/messages", {"from": "x", "to": "y", "body": "over the wire"})
        event = (await sse.next_event()).json
        assert event["type"] == "message.created" and event["source"] == "x" and event["subject"] == str(sent["id"])
        assert event["data"]["message"] == sent


async def test_keep_alive_comments_arrive(nodes: list[ApiNode], tier_redis: Redis) -> None:
    async with SSE(nodes[0].url) as sse:
        block = await sse.next_block(timeout=5)
        assert block.comments == ["keep-alive"] and block.data is None


async def test_forty_agents_race_for_one_claim_over_both_nodes(nodes: list[ApiNode], tier_redis: Redis) -> None:
    async with http() as c:
        msg = await post(c, nodes[0].url + "/api/messages", {"from": "boss", "to": "broadcast", "claimable": True})
        # Warm one connection per node and agent so the claims leave together.
        agents = [f"w{i}" for i in range(40)]
        results = await asyncio.gather(
            *(
                c.post(f"{nodes[i % 2].url}/api/messages/{msg['id']}/claim", json={"agentId": agent, "ttlMs": 60_000})
                for i, agent in enumerate(agents)
            )
        )
        codes = [r.status_code for r in results]
        assert sorted(codes) == [200] + [409] * 39
        winner = agents[codes.index(200)]
        for r in results:
            if r.status_code == 409:
                assert r.json() == {"error": f"message already claimed by {winner}"}
        stored = (await c.get(f"{nodes[1].url}/api/messages/{msg['id']}")).json()
        assert stored["claimedBy"] == winner
        assert await tier_redis.hget(keys.message(msg["id"]), "claimedBy") == winner


async def test_one_idempotency_key_on_both_nodes_yields_one_message(nodes: list[ApiNode], tier_redis: Redis) -> None:
    async with http() as c:
        body = {"from": "a", "to": "b", "body": "once", "idempotencyKey": "same-key"}
        results = await asyncio.gather(*(c.post(nodes[i % 2].url + "/api/messages", json=body) for i in range(20)))
        codes = sorted(r.status_code for r in results)
        assert codes == [200] * 19 + [201]
        assert len({r.json()["id"] for r in results}) == 1
        assert await tier_redis.zcard(keys.messages_all()) == 1
        inbox = (await c.get(nodes[0].url + "/api/messages", params={"for": "b"})).json()
        assert [m["body"] for m in inbox] == ["once"]


async def test_sse_resume_on_the_other_node_gets_exactly_what_was_missed(
    nodes: list[ApiNode], tier_redis: Redis
) -> None:
    a, b = nodes
    async with http() as c:
        async with SSE(a.url) as sse:
            await post(c, a.url + "/api/agents", {"id": "r1"})
            first = await sse.next_event()
            assert first.json["type"] == "agent.registered"
            resume_at = first.id
        assert resume_at
        missed = [await post(c, a.url + "/api/messages", {"from": "r1", "to": "r2", "body": str(i)}) for i in range(3)]
        async with SSE(b.url, last_event_id=resume_at) as sse:
            got = await sse.events(3)
            assert [e.json["data"]["message"]["id"] for e in got] == [m["id"] for m in missed]
            assert all(e.json["type"] == "message.created" for e in got)
            assert await sse.quiet_for(1.0) == []
            # And it goes on live from there.
            live = await post(c, b.url + "/api/messages", {"from": "r1", "to": "r2", "body": "live"})
            assert (await sse.next_event()).json["data"]["message"]["id"] == live["id"]
        # Resuming again from the last id seen replays nothing.
        async with SSE(a.url, last_event_id=sse.last_id) as again:
            assert await again.quiet_for(0.8) == []


async def test_sse_type_and_agent_filters(nodes: list[ApiNode], tier_redis: Redis) -> None:
    a, b = nodes
    async with SSE(a.url, params={"types": "agent.*", "agentId": "f1"}) as sse, http() as c:
        await post(c, b.url + "/api/agents", {"id": "f2"})
        await post(c, b.url + "/api/messages", {"from": "f1", "to": "f2"})
        await post(c, b.url + "/api/agents", {"id": "f1"})
        event = (await sse.next_event()).json
        assert (event["type"], event["subject"]) == ("agent.registered", "f1")
        assert await sse.quiet_for(0.5) == []


async def test_status_and_heartbeat_events(nodes: list[ApiNode], tier_redis: Redis) -> None:
    a, b = nodes
    async with http() as c:
        await post(c, a.url + "/api/agents", {"id": "hb"})
        async with SSE(b.url, params={"types": "agent.*", "agentId": "hb"}) as sse:
            r = await c.patch(a.url + "/api/agents/hb/status", json={"status": "stale"})
            assert r.status_code == 200
            event = (await sse.next_event()).json
            assert (event["type"], event["data"]["agent"]["status"]) == ("agent.status", "stale")
            # A heartbeat brings a stale agent back online, and says so.
            r = await c.post(a.url + "/api/agents/hb/heartbeat")
            assert r.json()["agent"]["status"] == "online"
            event = (await sse.next_event()).json
            assert (event["type"], event["data"]["agent"]["status"]) == ("agent.status", "online")
            # A heartbeat that changes nothing but lastSeen is not an event.
            await c.post(a.url + "/api/agents/hb/heartbeat")
            assert await sse.quiet_for(0.6) == []


async def test_a_resume_id_from_the_future_does_not_hide_new_events(nodes: list[ApiNode], tier_redis: Redis) -> None:
    async with SSE(nodes[0].url, last_event_id="bus=99999999999999-0,cmd=99999999999999-0") as sse, http() as c:
        sent = await post(c, nodes[1].url + "/api/messages", {"from": "f", "to": "g"})
        event = (await sse.next_event()).json
        assert event["data"]["message"]["id"] == sent["id"]


async def test_task_made_on_one_node_is_claimed_seen_and_streamed_on_the_other(
    nodes: list[ApiNode], tier_redis: Redis
) -> None:
    # Tasks are their own group (on a cluster: another shard than messages).
    a, b = nodes
    async with SSE(b.url, params={"types": "task.*"}) as sse, http() as c:
        task = await post(c, a.url + "/api/tasks", {"title": "deploy", "target": "ops"})
        claimed = await post(c, b.url + f"/api/tasks/{task['id']}/claim", {"agentId": "ops"}, expect=200)
        assert claimed["task"]["claimedBy"] == "ops"
        got = [e.json for e in await sse.events(2)]
        assert [(e["type"], e["subject"]) for e in got] == [
            ("task.created", str(task["id"])),
            ("task.updated", str(task["id"])),
        ]
        # The task's message to its target (bus group) and the task (task group) are both on the other node.
        inbox = (await c.get(b.url + "/api/messages", params={"for": "ops"})).json()
        assert [m["kind"] for m in inbox] == ["task"]
        history = (await c.get(a.url + f"/api/tasks/{task['id']}/events")).json()
        assert [(h["action"], h["status"]) for h in history] == [("created", "open"), ("claimed", "claimed")]
        assert await tier_redis.hget(keys.task(task["id"]), "claimedBy") == "ops"


async def test_token_issued_on_one_node_works_on_the_other_until_revoked_there(
    nodes: list[ApiNode], tier_redis: Redis
) -> None:
    a, b = nodes
    async with http() as c:
        issued = await post(c, a.url + "/api/tokens", {"role": "viewer", "sub": "watcher"})
        token = {"Authorization": f"Bearer {issued['token']}"}
        r = await c.get(b.url + "/api/agents", headers=token)
        assert r.status_code == 200
        assert [t["jti"] for t in (await c.get(b.url + "/api/tokens")).json()] == [issued["jti"]]
        r = await c.post(b.url + f"/api/tokens/{issued['jti']}/revoke")
        assert r.status_code == 200
        for node in nodes:
            r = await c.get(node.url + "/api/agents", headers=token)
            assert (r.status_code, r.json()) == (401, {"error": "token revoked"})
        assert await tier_redis.exists(keys.token_revoked(issued["jti"])) == 1


@pytest.mark.parametrize("tier", [pytest.param("cluster", marks=pytest.mark.cluster)], indirect=True)
async def test_sse_survives_losing_its_subscription_node(
    nodes: list[ApiNode], tier_redis: Redis, redis_cluster: LocalCluster
) -> None:
    """Each node subscribes on one cluster node; when that connection dies it subscribes on another,
    replays what it missed, and streams on."""
    cluster_nodes = [Redis.from_url(node.url, decode_responses=True) for node in redis_cluster.nodes]

    async def subscribers() -> dict[str, int]:
        counts = {}
        for node in cluster_nodes:
            numsub = await node.pubsub_numsub(keys.EVENTS_CHANNEL)
            counts[node.get_connection_kwargs()["port"]] = int(numsub[0][1])
        return counts

    try:
        a, b = nodes
        async with SSE(b.url, params={"types": "message.created"}) as sse, http() as c:
            before = await subscribers()
            assert sum(before.values()) == 2  # one subscription per API node
            # Cut every subscription where they are; the nodes' data connections are left alone.
            for node in cluster_nodes:
                await node.client_kill_filter(_type="pubsub")
            sent = await post(c, a.url + "/api/messages", {"from": "x", "to": "y", "body": "after the cut"})
            # The node of b's SSE client re-subscribed elsewhere and replayed what it may have missed.
            event = (await sse.next_event(timeout=15)).json
            assert event["data"]["message"]["id"] == sent["id"]
            for _ in range(100):
                after = await subscribers()
                if sum(after.values()) == 2:
                    break
                await asyncio.sleep(0.1)
            assert sum(after.values()) == 2
            moved = [port for port, count in before.items() if count and after[port] < count]
            assert moved, f"no subscription moved to another node: {before} -> {after}"
            live = await post(c, a.url + "/api/messages", {"from": "x", "to": "y", "body": "live again"})
            assert (await sse.next_event()).json["data"]["message"]["id"] == live["id"]
            for node in nodes:
                assert (await c.get(node.url + "/readyz")).json() == {"ok": True}
    finally:
        for node in cluster_nodes:
            await node.aclose()

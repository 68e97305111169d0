"""More agent behaviour: filtered listing order, status audits, session adoption, events in Redis."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from relay_model import keys
from relay_model.relay import Relay

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_filtered_list_keeps_registration_order(client: Client) -> None:
    for agent_id in ("z", "m", "a", "q"):
        await client.post("/api/agents", json={"id": agent_id, "tags": ["t"], "capabilities": ["c"]})
    await client.post("/api/agents", json={"id": "other", "tags": ["t"]})
    assert [a["id"] for a in (await client.get("/api/agents?tag=t&capability=c")).json()] == ["z", "m", "a", "q"]
    assert [a["id"] for a in (await client.get("/api/agents?tag=t")).json()] == ["z", "m", "a", "q", "other"]
    assert (await client.get("/api/agents?tag=t&kind=channel")).json() == []
    assert [a["id"] for a in (await client.get("/api/agents?kind=user")).json()] == ["user"]


async def test_each_status_change_is_audited_once_with_the_label(client: Client, relay: Relay) -> None:
    await client.post("/api/agents", json={"id": "a", "name": "Agent A"})
    for status in ("busy", "idle", "idle", "offline"):
        assert (await client.patch("/api/agents/a/status", json={"status": status})).status_code == 200
    feed = (await client.get("/api/activity", params={"agentId": "a"})).json()
    assert [(e["title"], e["body"]) for e in feed] == [
        ("Agent offline", "Agent A"),
        ("Agent idle", "Agent A"),
        ("Agent busy", "Agent A"),
    ]
    assert feed[0]["metadata"] == {"field": "status", "previous": "idle", "next": "offline"}
    await client.patch("/api/agents/a/label", json={"label": "Lab"})
    await client.patch("/api/agents/a/status", json={"status": "online"})
    assert (await client.get("/api/activity", params={"agentId": "a"})).json()[0]["body"] == "Lab"
    # The change, its event and its audit entry were written together.
    types = [fields["t"] for _, fields in await relay.redis.xrange(keys.events(keys.BUS))]
    assert types.count("agent.status") == 6 and types.count("activity.created") == 5


async def test_a_newer_session_is_adopted_and_the_older_one_refused(client: Client) -> None:
    await client.post("/api/agents", json={"id": "s", "sessionId": "one", "sessionStartedAt": 100})
    r = await client.post("/api/agents/s/heartbeat", json={"sessionId": "two", "sessionStartedAt": 200})
    assert r.status_code == 200 and r.json()["agent"]["sessionId"] == "two"
    r = await client.post("/api/agents/s/heartbeat", json={"sessionId": "one", "sessionStartedAt": 100})
    assert (r.status_code, r.json()) == (409, {"error": "agent session is stale: a newer session is registered"})
    r = await client.post("/api/agents", json={"id": "s", "sessionId": "one", "sessionStartedAt": 100})
    assert r.status_code == 409

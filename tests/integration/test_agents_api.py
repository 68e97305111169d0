"""Agents over HTTP against a real Redis."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from relay_model.relay import Relay


async def test_register_is_201_then_200_and_builtins_exist(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    r = await client.post("/api/agents", json={"id": "a1", "tags": ["py"], "capabilities": ["review"]})
    assert r.status_code == 201
    assert r.json()["status"] == "online"
    r = await client.post("/api/agents", json={"id": "a1", "name": "Agent One"})
    assert r.status_code == 200
    assert r.json()["name"] == "Agent One"
    # Re-registering without tags keeps the tags that were set.
    assert r.json()["tags"] == ["py"]
    ids = [a["id"] for a in (await client.get("/api/agents")).json()]
    # Built-ins exist from the start (they may share a registration millisecond, so order between them is free).
    assert set(ids[:2]) == {"user", "system"} and ids[2:] == ["a1"]


async def test_list_filters(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    await client.post("/api/agents", json={"id": "a", "tags": ["x"], "kind": "provider"})
    await client.post("/api/agents", json={"id": "b", "tags": ["y"], "kind": "channel"})
    await client.patch("/api/agents/b/status", json={"status": "busy"})
    assert [a["id"] for a in (await client.get("/api/agents?tag=x")).json()] == ["a"]
    assert [a["id"] for a in (await client.get("/api/agents?kind=channel")).json()] == ["b"]
    assert [a["id"] for a in (await client.get("/api/agents?status=busy")).json()] == ["b"]
    r = await client.get("/api/agents?status=nope")
    assert r.status_code == 400
    assert r.json() == {"error": "status must be one of: online, idle, busy, stale, offline"}


async def test_status_texts_and_session_guard(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    await client.post("/api/agents", json={"id": "a", "sessionId": "s2", "sessionStartedAt": 2000})
    r = await client.patch("/api/agents/a/status", json={})
    assert (r.status_code, r.json()) == (400, {"error": "status required"})
    r = await client.patch("/api/agents/a/status", json={"status": "asleep"})
    assert r.json() == {"error": "status must be one of: online, idle, busy, stale, offline"}
    r = await client.patch("/api/agents/missing/status", json={"status": "busy"})
    assert (r.status_code, r.json()) == (404, {"error": "agent not found"})
    # An older session is refused and changes nothing.
    r = await client.patch("/api/agents/a/status", json={"status": "busy", "sessionId": "s1", "sessionStartedAt": 1000})
    assert r.status_code == 409
    assert (await client.get("/api/agents/a")).json()["status"] == "online"
    # The session's own header works.
    r = await client.patch("/api/agents/a/status", json={"status": "busy"}, headers={"X-Agent-Session-Id": "s2"})
    assert r.status_code == 200 and r.json()["agent"]["status"] == "busy"


async def test_heartbeat_revives_stale_agent(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    await client.post("/api/agents", json={"id": "a"})
    await client.patch("/api/agents/a/status", json={"status": "stale"})
    r = await client.post("/api/agents/a/heartbeat")
    assert r.status_code == 200 and r.json()["agent"]["status"] == "online"
    assert (await client.post("/api/agents/zz/heartbeat")).status_code == 404


async def test_label_and_tags_are_audited(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    await client.post("/api/agents", json={"id": "a"})
    r = await client.patch("/api/agents/a/label", json={})
    assert r.json() == {"error": "label field required (string or null)"}
    assert (await client.patch("/api/agents/a/label", json={"label": "Reviewer"})).json() == {"ok": True}
    assert (await client.patch("/api/agents/a/label", json={"label": None})).json() == {"ok": True}
    r = await client.patch("/api/agents/a/tags", json={})
    assert r.json() == {"error": "tags field required"}
    r = await client.patch("/api/agents/a/tags", json={"tags": ["x", "y"]})
    assert r.json()["tags"] == ["x", "y"]
    feed = (await client.get("/api/activity?agentId=a")).json()
    titles = [(e["title"], e["body"], e["icon"]) for e in feed]
    assert titles == [
        ("Agent tags updated", "x, y", "ti-tags"),
        ("Agent label cleared", "Reviewer", "ti-tag"),
        ("Agent label set", "Reviewer", "ti-tag"),
    ]
    assert feed[0]["metadata"] == {"field": "tags", "previous": [], "next": ["x", "y"]}
    assert feed[1]["metadata"] == {"field": "label", "previous": "Reviewer", "next": None}
    # Setting the same value again is not a change and is not audited.
    await client.patch("/api/agents/a/tags", json={"tags": ["x", "y"]})
    assert len((await client.get("/api/activity?agentId=a")).json()) == 3
    # Tag index follows: only the new tags match.
    assert [a["id"] for a in (await client.get("/api/agents?tag=y")).json()] == ["a"]


async def test_delete(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    await client.post("/api/agents", json={"id": "a", "tags": ["t"]})
    assert (await client.delete("/api/agents/a")).json() == {"ok": True}
    assert (await client.get("/api/agents/a")).status_code == 404
    assert (await client.get("/api/agents?tag=t")).json() == []
    assert (await client.delete("/api/agents/a")).json() == {"error": "agent not found"}
    assert (await client.delete("/api/agents/user")).status_code == 400

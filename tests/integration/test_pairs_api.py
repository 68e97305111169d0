"""Pairs and the system broadcast over HTTP against a real Redis."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from relay_model import keys
from relay_model.clock import now_ms
from relay_model.messages.reaper import expire_pairs
from relay_model.reaper import ReapReport
from relay_model.relay import Relay


async def _agents(client: AsyncTestClient, *ids: str) -> None:  # type: ignore[type-arg]
    for agent_id in ids:
        await client.post("/api/agents", json={"id": agent_id})


async def test_pair_lifecycle_and_messages(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    await _agents(client, "a", "b", "c")
    r = await client.post("/api/pairs", json={"from": "a", "to": "b", "topic": "review PR 7"})
    assert r.status_code == 201
    pair = r.json()
    assert (pair["from"], pair["to"], pair["status"], pair["topic"]) == ("a", "b", "pending", "review PR 7")
    assert pair["expiresAt"] > now_ms()
    # The invited agent is told in its inbox.
    invite = (await client.get("/api/messages?for=b")).json()
    assert [(m["kind"], m["from"], m["payload"]["pairId"]) for m in invite] == [("pair", "a", pair["id"])]
    r = await client.post("/api/pairs", json={"from": "b", "to": "a"})
    assert (r.status_code, r.json()) == (409, {"error": f"agents b and a already have an open pair ({pair['id']})"})
    url = f"/api/pairs/{pair['id']}"
    r = await client.post(url + "/messages", json={"from": "a", "body": "hi"})
    assert (r.status_code, r.json()) == (409, {"error": "pair is pending"})
    r = await client.post(url + "/accept", json={"agentId": "a"})
    assert (r.status_code, r.json()) == (403, {"error": "only the invited agent (b) can accept this pair"})
    r = await client.post(url + "/accept", json={"agentId": "b"})
    assert r.status_code == 200 and r.json()["status"] == "active" and r.json()["respondedAt"] is not None
    r = await client.post(url + "/accept", json={"agentId": "b"})
    assert (r.status_code, r.json()) == (409, {"error": "pair is active"})
    r = await client.post(url + "/messages", json={"from": "a", "body": "look at line 3"})
    assert r.status_code == 201
    msg = r.json()
    assert (msg["kind"], msg["to"], msg["channel"], msg["meta"]) == ("pair", "b", f"pair:{pair['id']}", {"pairId": 1})
    r = await client.post(url + "/messages", json={"from": "c", "body": "me too"})
    assert (r.status_code, r.json()) == (403, {"error": "agent c is not part of this pair"})
    r = await client.post(url + "/end", json={"agentId": "c"})
    assert (r.status_code, r.json()) == (403, {"error": "agent c is not part of this pair"})
    r = await client.post(url + "/end", json={"agentId": "a", "reason": "done"})
    assert r.json()["status"] == "ended" and r.json()["endedBy"] == "a" and r.json()["reason"] == "done"
    # Ended pairs free the two agents for a new one.
    assert (await client.post("/api/pairs", json={"from": "b", "to": "a"})).status_code == 201
    types = [e[1]["t"] for e in await relay.redis.xrange(keys.events(keys.BUS)) if e[1]["t"].startswith("pair.")]
    assert types == ["pair.requested", "pair.accepted", "pair.ended", "pair.requested"]
    feed = [e["title"] for e in (await client.get("/api/activity?kind=pair")).json()]
    assert feed == ["Pair requested", "Pair ended", "Pair accepted", "Pair requested"]
    assert [p["id"] for p in (await client.get("/api/pairs?agentId=a")).json()] == [2, 1]
    assert [p["id"] for p in (await client.get("/api/pairs?status=ended")).json()] == [1]
    assert (await client.get(url)).json()["status"] == "ended"


async def test_pair_validation(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    await _agents(client, "a", "b")
    assert (await client.post("/api/pairs", json={"from": "a"})).json() == {"error": "to required"}
    r = await client.post("/api/pairs", json={"from": "a", "to": "a"})
    assert (r.status_code, r.json()) == (400, {"error": "an agent cannot pair with itself"})
    r = await client.post("/api/pairs", json={"from": "a", "to": "zz"})
    assert (r.status_code, r.json()) == (404, {"error": "agent zz not found"})
    await client.patch("/api/agents/b/status", json={"status": "offline"})
    r = await client.post("/api/pairs", json={"from": "a", "to": "b"})
    assert (r.status_code, r.json()) == (422, {"error": 'agent "b" is offline'})
    assert (await client.get("/api/pairs/9")).json() == {"error": "pair not found"}
    assert (await client.post("/api/pairs/9/end", json={"agentId": "a"})).status_code == 404
    r = await client.get("/api/pairs?status=nope")
    assert r.json() == {"error": "status must be one of: pending, active, ended, rejected, expired"}


async def test_reject_and_expiry(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    await _agents(client, "a", "b", "c")
    p1 = (await client.post("/api/pairs", json={"from": "a", "to": "b"})).json()
    r = await client.post(f"/api/pairs/{p1['id']}/reject", json={"agentId": "b", "reason": "busy"})
    assert r.json()["status"] == "rejected"
    p2 = (await client.post("/api/pairs", json={"from": "a", "to": "c", "ttlMs": 1000})).json()
    p3 = (await client.post("/api/pairs", json={"from": "b", "to": "c"})).json()
    await expire_pairs(relay, now_ms() + 5000, ReapReport())
    assert (await client.get(f"/api/pairs/{p2['id']}")).json()["status"] == "expired"
    assert (await client.get(f"/api/pairs/{p3['id']}")).json()["status"] == "pending"
    r = await client.post(f"/api/pairs/{p2['id']}/accept", json={"agentId": "c"})
    assert (r.status_code, r.json()) == (409, {"error": "pair is expired"})
    expired = [e for e in await relay.redis.xrange(keys.events(keys.BUS)) if e[1]["t"] == "pair.expired"]
    assert len(expired) == 1
    assert "Pair request expired" in [e["title"] for e in (await client.get("/api/activity?kind=pair")).json()]


async def test_system_broadcast(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    await _agents(client, "a", "b")
    r = await client.post("/api/system/broadcast", json={})
    assert (r.status_code, r.json()) == (400, {"error": "body required"})
    r = await client.post("/api/system/broadcast", json={"body": "relay restarts at 18:00"})
    assert r.status_code == 201
    msg = r.json()["message"]
    assert (msg["from"], msg["to"], msg["kind"]) == ("system", "broadcast", "system")
    for agent in ("a", "b"):
        inbox = (await client.get(f"/api/messages?for={agent}")).json()
        assert [m["body"] for m in inbox] == ["relay restarts at 18:00"]
    feed = (await client.get("/api/activity?kind=operator")).json()
    assert [e["title"] for e in feed] == ["System broadcast"]


async def test_reap_once_runs_these_steps(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    from relay_model.relay import reap_once

    await _agents(client, "gone")
    t1 = (await client.post("/api/tasks", json={"title": "a"})).json()
    t2 = (await client.post("/api/tasks", json={"title": "b"})).json()
    await client.post(f"/api/tasks/{t1['id']}/claim", json={"agentId": "x", "ttlMs": 1})
    await client.post(f"/api/tasks/{t2['id']}/claim", json={"agentId": "gone"})
    await client.patch("/api/agents/gone/status", json={"status": "offline"})
    report = await reap_once(relay, now=now_ms() + 1000)
    assert report.released_task_ids == [t1["id"]]
    assert report.released_orphaned_task_ids == [t2["id"]]
    body = msgspec_json(report)
    assert body["releasedTaskIds"] == [t1["id"]] and body["releasedOrphanedTaskIds"] == [t2["id"]]


def msgspec_json(value: object) -> dict:  # type: ignore[type-arg]
    import msgspec

    return msgspec.json.decode(msgspec.json.encode(value))  # type: ignore[no-any-return]


async def test_pairs_of_an_agent_in_one_status(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    await _agents(client, "a", "b", "c", "d")
    ids = []
    for other in ("b", "c", "d"):
        ids.append((await client.post("/api/pairs", json={"from": "a", "to": other})).json()["id"])
    await client.post(f"/api/pairs/{ids[0]}/end", json={"agentId": "a"})
    await client.post(f"/api/pairs/{ids[2]}/end", json={"agentId": "d"})
    await client.post("/api/pairs", json={"from": "b", "to": "c"})  # another agent's pair in the same status
    ended = (await client.get("/api/pairs?agentId=a&status=ended")).json()
    assert [p["id"] for p in ended] == [ids[2], ids[0]]
    assert [p["id"] for p in (await client.get("/api/pairs?agentId=a&status=ended&limit=1")).json()] == [ids[2]]
    assert [p["id"] for p in (await client.get("/api/pairs?agentId=a&status=pending")).json()] == [ids[1]]
    assert (await client.get("/api/pairs?agentId=zz&status=pending")).json() == []


async def test_a_preempted_key_cannot_suppress_a_pair_notification(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    for agent in ("a", "b", "mallory"):
        await client.post("/api/agents", json={"id": agent})
    pair = (await client.post("/api/pairs", json={"from": "a", "to": "b"})).json()
    # A third agent sends a message under the key a predictable notification would use.
    await client.post(
        "/api/messages",
        json={"from": "mallory", "to": "mallory", "body": "x", "idempotencyKey": f"pair-{pair['id']}-active"},
    )
    assert (await client.post(f"/api/pairs/{pair['id']}/accept", json={"agentId": "b"})).status_code == 200
    inbox = (await client.get("/api/messages?for=a")).json()
    assert [(m["kind"], m["subject"], m["payload"]) for m in inbox] == [
        ("pair", "Pair accepted", {"pairId": pair["id"], "status": "active"})
    ]

"""Messages over HTTP against a real Redis: routing, inboxes, history, idempotency, claims, cursors."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from relay_model import keys
from relay_model.relay import Relay

Client = AsyncTestClient  # type: ignore[type-arg]


async def register(client: Client, agent_id: str, **card: Any) -> None:
    r = await client.post("/api/agents", json={"id": agent_id, **card})
    assert r.status_code in (200, 201), r.text


async def send(client: Client, **body: Any) -> dict[str, Any]:
    r = await client.post("/api/messages", json=body)
    assert r.status_code == 201, r.text
    message: dict[str, Any] = r.json()
    return message


async def inbox(client: Client, agent_id: str, since: int = 0, limit: int = 100) -> list[int]:
    r = await client.get("/api/messages", params={"for": agent_id, "since": since, "limit": limit})
    assert r.status_code == 200, r.text
    return [m["id"] for m in r.json()]


async def test_direct_message_fields_and_increasing_ids(client: Client) -> None:
    await register(client, "a")
    await register(client, "b")
    first = await send(client, **{"from": "a", "to": "b", "body": "hi", "subject": "s", "payload": {"x": [1, 2]}})
    second = await send(client, **{"from": "a", "to": "b", "body": "again"})
    assert second["id"] > first["id"]
    assert first["from"] == "a" and first["to"] == "b" and first["kind"] == "chat"
    assert first["payload"] == {"x": [1, 2]} and first["claimedBy"] is None and first["createdAt"] > 0
    assert (await client.get(f"/api/messages/{first['id']}")).json() == first
    assert await inbox(client, "b") == [first["id"], second["id"]]
    assert await inbox(client, "b", since=first["id"]) == [second["id"]]
    assert await inbox(client, "a") == []


async def test_fanout_is_resolved_at_send_time_and_skips_the_sender(client: Client) -> None:
    await register(client, "a", tags=["py"], capabilities=["review"], label="L")
    await register(client, "b", tags=["py"], capabilities=["review"], label="L")
    await register(client, "c", tags=["js"])
    for target in ("tag:py", "cap:review", "label:L"):
        msg = await send(client, **{"from": "a", "to": target, "body": target})
        assert msg["to"] == target
        assert msg["id"] in await inbox(client, "b")
        assert msg["id"] not in await inbox(client, "a")
        assert msg["id"] not in await inbox(client, "c")
    # An agent that gains the tag later does not receive what was sent before.
    await client.patch("/api/agents/c/tags", json={"tags": ["py"]})
    assert await inbox(client, "c") == []
    later = await send(client, **{"from": "a", "to": "tag:py"})
    assert await inbox(client, "c") == [later["id"]]


async def test_broadcast_reaches_everyone_but_the_sender_including_later_agents(client: Client) -> None:
    await register(client, "a")
    await register(client, "b")
    cast = await send(client, **{"from": "a", "to": "broadcast", "body": "all"})
    direct = await send(client, **{"from": "a", "to": "b"})
    assert await inbox(client, "b") == [cast["id"], direct["id"]]
    assert await inbox(client, "a") == []
    await register(client, "late")
    assert await inbox(client, "late") == [cast["id"]]
    # Built-in agents have inboxes like any other.
    assert await inbox(client, "user") == [cast["id"]]
    to_user = await send(client, **{"from": "a", "to": "user"})
    to_system = await send(client, **{"from": "a", "to": "system"})
    assert await inbox(client, "user") == [cast["id"], to_user["id"]]
    assert await inbox(client, "system") == [cast["id"], to_system["id"]]


async def test_inbox_limit_pages_through_own_and_broadcast_in_order(client: Client) -> None:
    await register(client, "a")
    await register(client, "b")
    ids = []
    for i in range(7):
        to = "broadcast" if i % 2 else "b"
        ids.append((await send(client, **{"from": "a", "to": to}))["id"])
    # b's own broadcasts are not in its inbox.
    await send(client, **{"from": "b", "to": "broadcast"})
    seen: list[int] = []
    since = 0
    while page := await inbox(client, "b", since=since, limit=3):
        seen += page
        since = page[-1]
    assert seen == ids


async def test_reply_routing_and_threads(client: Client) -> None:
    await register(client, "a")
    await register(client, "b")
    root = await send(client, **{"from": "a", "to": "b", "body": "q"})
    reply = await send(client, **{"from": "b", "replyTo": root["id"], "body": "answer"})
    assert reply["to"] == "a" and reply["replyTo"] == root["id"] and reply["threadId"] == root["id"]
    again = await send(client, **{"from": "a", "replyTo": reply["id"]})
    assert again["to"] == "b" and again["threadId"] == root["id"]
    assert root["threadId"] is None
    # An explicit `to` wins over reply routing.
    explicit = await send(client, **{"from": "b", "to": "b", "replyTo": root["id"]})
    assert explicit["to"] == "b"
    # The seed: without `to`, a replyTo that resolves to nothing is the same 400 as no target at all.
    r = await client.post("/api/messages", json={"from": "a", "replyTo": 999_999})
    assert (r.status_code, r.json()) == (400, {"error": "to is required (or provide replyTo to auto-route)"})
    r = await client.post("/api/messages", json={"from": "a"})
    assert (r.status_code, r.json()) == (400, {"error": "to is required (or provide replyTo to auto-route)"})


async def test_offline_target_is_refused_unless_system_or_control(client: Client, relay: Relay) -> None:
    await register(client, "a")
    await register(client, "off")
    await client.patch("/api/agents/off/status", json={"status": "offline"})
    before = await relay.messages.latest_id()
    r = await client.post("/api/messages", json={"from": "a", "to": "off", "body": "x"})
    assert (r.status_code, r.json()) == (422, {"error": 'agent "off" is offline'})
    assert await relay.messages.latest_id() == before
    for kind in ("system", "control"):
        r = await client.post("/api/messages", json={"from": "a", "to": "off", "kind": kind})
        assert r.status_code == 201
    # Stale is not offline; unknown agents are not refused (the seed checks only a known offline agent).
    await client.patch("/api/agents/a/status", json={"status": "stale"})
    assert (await client.post("/api/messages", json={"from": "off", "to": "a"})).status_code == 201
    assert (await client.post("/api/messages", json={"from": "a", "to": "nobody"})).status_code == 201
    # Fan-out is not a direct target.
    await client.patch("/api/agents/off/tags", json={"tags": ["t"]})
    assert (await client.post("/api/messages", json={"from": "a", "to": "tag:t"})).status_code == 201


async def test_idempotency_key_returns_the_first_message(client: Client, relay: Relay) -> None:
    await register(client, "b")
    first = await client.post("/api/messages", json={"from": "a", "to": "b", "body": "1", "idempotencyKey": "k"})
    again = await client.post("/api/messages", json={"from": "a", "to": "b", "body": "2", "idempotencyKey": "k"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    assert first.json()["idempotencyKey"] == "k"
    assert await inbox(client, "b") == [first.json()["id"]]
    assert await relay.messages.latest_id() == first.json()["id"]


async def test_history_filters_and_order(client: Client) -> None:
    await register(client, "a")
    await register(client, "b")
    m1 = await send(client, **{"from": "a", "to": "b", "kind": "task", "channel": "ch"})
    m2 = await send(client, **{"from": "b", "to": "a"})
    m3 = await send(client, **{"from": "a", "to": "broadcast"})

    async def history(**params: Any) -> list[int]:
        r = await client.get("/api/messages", params=params)
        assert r.status_code == 200, r.text
        return [m["id"] for m in r.json()]

    assert await history() == [m1["id"], m2["id"], m3["id"]]
    assert await history(limit=2) == [m2["id"], m3["id"]]  # the newest, oldest first
    assert await history(since=m1["id"]) == [m2["id"], m3["id"]]
    assert await history(before=m3["id"]) == [m1["id"], m2["id"]]
    assert await history(**{"from": "a"}) == [m1["id"], m3["id"]]
    assert await history(to="a") == [m2["id"]]
    assert await history(to="broadcast") == [m3["id"]]
    assert await history(channel="ch") == [m1["id"]]
    assert await history(kind="task") == [m1["id"]]
    assert await history(**{"from": "a", "kind": "chat"}) == [m3["id"]]


async def test_query_texts_of_the_seed(client: Client) -> None:
    for query, text in [
        ("limit=0", "limit must be an integer between 1 and 500"),
        ("limit=501", "limit must be an integer between 1 and 500"),
        ("limit=abc", "limit must be an integer between 1 and 500"),
        ("limit=1.5", "limit must be an integer between 1 and 500"),
        ("since=-1", "since must be a non-negative integer"),
        ("since=x", "since must be a non-negative integer"),
        ("since=9007199254740992", "since must be a non-negative integer"),
        ("for=a&since=-1", "since must be a non-negative integer"),
        ("kind=zz", "kind must be one of: chat, channel.event, task, pair, control, system"),
    ]:
        r = await client.get(f"/api/messages?{query}")
        assert (r.status_code, r.json()) == (400, {"error": text}), query
    assert (await client.get("/api/messages?limit=500")).status_code == 200


async def test_claims(client: Client, relay: Relay) -> None:
    await register(client, "w1")
    msg = await send(client, **{"from": "a", "to": "broadcast", "claimable": True})
    plain = await send(client, **{"from": "a", "to": "w1"})
    r = await client.post(f"/api/messages/{msg['id']}/claim", json={"agentId": "w1", "ttlMs": 60_000})
    assert r.status_code == 200
    claimed = r.json()["message"]
    assert claimed["claimedBy"] == "w1" and claimed["claimExpiresAt"] - claimed["claimedAt"] == 60_000
    # The holder may ask again (200, renewed); anyone else is refused.
    assert (await client.post(f"/api/messages/{msg['id']}/claim", json={"agentId": "w1"})).status_code == 200
    r = await client.post(f"/api/messages/{msg['id']}/claim", json={"agentId": "w2"})
    assert (r.status_code, r.json()) == (409, {"error": "message already claimed by w1"})
    r = await client.post(f"/api/messages/{plain['id']}/claim", json={"agentId": "w1"})
    assert (r.status_code, r.json()) == (409, {"error": "message is not claimable"})
    r = await client.post("/api/messages/999999/claim", json={"agentId": "w1"})
    assert (r.status_code, r.json()) == (404, {"error": "message not found"})
    r = await client.post(f"/api/messages/{msg['id']}/claim", json={"agentId": "w1", "ttlMs": 0})
    assert (r.status_code, r.json()) == (400, {"error": "ttlMs must be a positive integer"})
    # The expiry is indexed for the reaper.
    score = await relay.redis.zscore(keys.message_claims(), str(msg["id"]))
    assert score is not None and int(score) > claimed["claimedAt"]
    r = await client.post(f"/api/messages/{msg['id']}/release", json={"agentId": "w2"})
    assert (r.status_code, r.json()) == (409, {"error": "message is claimed by another agent"})
    r = await client.post(f"/api/messages/{msg['id']}/release", json={"agentId": "w1"})
    assert r.status_code == 200 and r.json()["message"]["claimedBy"] is None
    assert await relay.redis.zscore(keys.message_claims(), str(msg["id"])) is None
    assert (await client.post(f"/api/messages/{msg['id']}/claim", json={"agentId": "w2"})).status_code == 200


async def test_cursor_moves_forward_and_read_ack(client: Client) -> None:
    await register(client, "b")
    m1 = await send(client, **{"from": "a", "to": "b"})
    m2 = await send(client, **{"from": "a", "to": "b"})
    r = await client.get("/api/messages/cursor", params={"agentId": "b"})
    assert r.json() == {"agentId": "b", "cursor": 0, "latestId": m2["id"]}
    r = await client.post("/api/messages/cursor", json={"agentId": "b", "cursor": m2["id"]})
    assert r.json() == {"agentId": "b", "cursor": m2["id"], "latestId": m2["id"]}
    # Never backwards unless asked to rewind.
    r = await client.post("/api/messages/cursor", json={"agentId": "b", "cursor": m1["id"]})
    assert r.json()["cursor"] == m2["id"]
    r = await client.post("/api/messages/cursor", json={"agentId": "b", "cursor": m1["id"], "rewind": True})
    assert r.json()["cursor"] == m1["id"]
    r = await client.post(f"/api/messages/{m2['id']}/read", json={"agentId": "b"})
    assert r.status_code == 200 and r.json() == {"agentId": "b", "cursor": m2["id"], "latestId": m2["id"]}
    r = await client.post("/api/messages/999999/read", json={"agentId": "b"})
    assert (r.status_code, r.json()) == (404, {"error": "message not found"})
    r = await client.get("/api/messages/cursor")
    assert (r.status_code, r.json()) == (400, {"error": "agentId required"})


async def test_activity_filters(client: Client) -> None:
    await register(client, "a")
    await client.patch("/api/agents/a/status", json={"status": "busy"})
    await client.patch("/api/agents/a/label", json={"label": "L"})
    r = await client.post(
        "/api/activity", json={"kind": "operator", "title": "hello", "agentId": "a", "clientId": "c1"}
    )
    assert r.status_code == 201
    op_id = r.json()["id"]
    dup = await client.post("/api/activity", json={"kind": "operator", "title": "hello", "clientId": "c1"})
    assert dup.status_code == 200 and dup.json() == {"ok": True, "duplicate": True}
    await client.post("/api/activity", json={"kind": "message", "title": "other"})

    async def titles(**params: Any) -> list[str]:
        r = await client.get("/api/activity", params=params)
        assert r.status_code == 200, r.text
        return [e["title"] for e in r.json()]

    assert await titles(agentId="a") == ["hello", "Agent label set", "Agent busy"]
    assert await titles(agentId="a", kind="state") == ["Agent label set", "Agent busy"]
    assert await titles(kind="operator") == ["hello"]
    assert await titles(limit=1) == ["other"]
    assert await titles(before=op_id, agentId="a") == ["Agent label set", "Agent busy"]
    assert await titles(since=op_id) == ["other"]
    status_entry = (await client.get("/api/activity", params={"agentId": "a", "kind": "state"})).json()[-1]
    assert status_entry["metadata"] == {"field": "status", "previous": "online", "next": "busy"}
    assert status_entry["body"] == "a" and status_entry["icon"] == "ti-activity"
    r = await client.get("/api/activity?kind=nope")
    assert r.json() == {"error": "kind must be one of: message, reply, question, operator, pair, task, state"}
    r = await client.post("/api/activity", json={"kind": "nope", "title": "x"})
    assert r.status_code == 400


async def test_inbox_skips_a_long_run_of_own_broadcasts(client: Client, relay: Relay) -> None:
    from relay_model.messages.messages import SendMessageInput

    loud = SendMessageInput(from_="loud", to="broadcast")
    for _ in range(1500):
        await relay.messages.send_json(loud)
    other = await send(client, **{"from": "quiet", "to": "broadcast"})
    direct = await send(client, **{"from": "quiet", "to": "loud"})
    assert await inbox(client, "loud", limit=5) == [other["id"], direct["id"]]
    assert len(await inbox(client, "quiet", limit=500)) == 500

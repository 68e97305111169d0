"""Hostile and odd input: every refusal is a 4xx `{"error": ...}` and changes nothing in Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from relay_api.app import create_app
from relay_model.settings import Settings
from tests.conftest import ADMIN_TOKEN, AUTH

Client = AsyncTestClient  # type: ignore[type-arg]
JSON = {"content-type": "application/json"}


async def snapshot(redis: Redis) -> dict[str, Any]:
    """Every key and its value (events streams included), to prove a refusal wrote nothing."""
    out: dict[str, Any] = {}
    for key in sorted(await redis.keys("*")):
        kind = await redis.type(key)
        if kind == "string":
            out[key] = await redis.get(key)
        elif kind == "hash":
            out[key] = await redis.hgetall(key)
        elif kind == "set":
            out[key] = sorted(await redis.smembers(key))
        elif kind == "zset":
            out[key] = await redis.zrange(key, 0, -1, withscores=True)
        elif kind == "stream":
            out[key] = await redis.xrange(key)
        else:
            out[key] = kind
    return out


BAD_BODIES: list[tuple[str, str, bytes, str]] = [
    ("POST", "/api/agents", b'{"id":', "JSON is malformed: input data was truncated"),
    ("POST", "/api/agents", b"{id: 1}", "JSON is malformed: object keys must be strings (byte 1)"),
    ("POST", "/api/agents", b'{"id":"\xff\xfe"}', "JSON is malformed"),
    ("POST", "/api/agents", b'{"id":"a","meta":{"x":' + b"[" * 1000 + b"]" * 1000 + b"}}", "JSON is nested too deeply"),
    ("POST", "/api/messages", b"[" * 1000 + b"]" * 1000, "JSON is nested too deeply"),
    (
        "POST",
        "/api/agents",
        b'{"id":"a","meta":' + b'{"a":' * 900 + b"1" + b"}" * 900 + b"}",
        "meta is nested too deeply (at most 64 levels)",
    ),
    (
        "POST",
        "/api/messages",
        b'{"from":"a","to":"b","payload":{"x":' + b"[" * 100 + b"]" * 100 + b"}}",
        "payload is nested too deeply (at most 64 levels)",
    ),
    ("POST", "/api/agents", b"", "JSON object body required"),
    ("POST", "/api/agents", b"[]", "JSON object body required"),
    ("POST", "/api/agents", b"null", "JSON object body required"),
    ("POST", "/api/agents", b'"id"', "JSON object body required"),
    ("POST", "/api/agents", b'{"id":5}', "id must be a string"),
    ("POST", "/api/agents", b'{"id":""}', "id must not be empty"),
    ("POST", "/api/agents", b'{"id":"team/reviewer"}', 'id must not contain "/"'),
    ("POST", "/api/agents", b'{"id":"a","tags":"x"}', "tags must be an array or null"),
    ("POST", "/api/agents", b'{"id":"a","tags":[1]}', "tags[0] must be a string"),
    ("POST", "/api/agents", b'{"id":"a","meta":[]}', "meta must be an object or null"),
    ("POST", "/api/agents", b'{"id":"a","pid":-1}', "pid must be an integer >= 0"),
    ("POST", "/api/agents", b'{"id":"a","pid":NaN}', "JSON is malformed: invalid character (byte 16)"),
    (
        "POST",
        "/api/agents",
        b'{"id":"a","kind":"robot"}',
        "kind must be one of: provider, channel, orchestrator, system, user",
    ),
    ("POST", "/api/agents", b'{"id":"a","status":"zzz"}', "status must be one of: online, idle, busy, stale, offline"),
    ("POST", "/api/agents", b'{"id":"' + b"x" * 241 + b'"}', "id must be at most 240 characters"),
    (
        "POST",
        "/api/agents",
        b'{"id":"a","tags":[' + b",".join([b'"t"'] * 101) + b"]}",
        "tags must have at most 100 items",
    ),
    ("POST", "/api/messages", b'{"to":"b"}', "from required"),
    (
        "POST",
        "/api/messages",
        b'{"from":"a","to":"b","kind":"zzz"}',
        "kind must be one of: chat, channel.event, task, pair, control, system",
    ),
    ("POST", "/api/messages", b'{"from":"a","to":"b","replyTo":1.5}', "replyTo must be an integer or null"),
    ("POST", "/api/messages", b'{"from":"a","to":"b","replyTo":0}', "replyTo must be a positive integer"),
    (
        "POST",
        "/api/messages",
        b'{"from":"a","to":"b","replyTo":99999999999999999999999}',
        "replyTo must be an integer <= 9007199254740991",
    ),
    ("POST", "/api/messages", b'{"from":"a","to":"b","claimable":"yes"}', "claimable must be a boolean"),
    (
        "POST",
        "/api/messages",
        b'{"from":"a","to":"b","body":"' + b"x" * 65_537 + b'"}',
        "body must be at most 65536 characters",
    ),
    (
        "POST",
        "/api/messages",
        b'{"from":"a","to":"b","payload":{"x":"' + b"y" * 70_000 + b'"}}',
        "payload is too large",
    ),
    ("POST", "/api/messages", b'{"from":"a","to":"b","meta":{"x":"' + b"y" * 70_000 + b'"}}', "meta is too large"),
    ("POST", "/api/messages/1/claim", b'{"agentId":"a","ttlMs":0}', "ttlMs must be a positive integer"),
    ("POST", "/api/messages/1/claim", b'{"agentId":"a","ttlMs":[5]}', "ttlMs must be an integer or null"),
    ("POST", "/api/messages/1/claim", b"{}", "agentId required"),
    (
        "PATCH",
        "/api/agents/user/status",
        b'{"status":"asleep"}',
        "status must be one of: online, idle, busy, stale, offline",
    ),
    ("PATCH", "/api/agents/user/label", b'{"label":5}', "label must be a string or null"),
    ("PATCH", "/api/agents/user/tags", b'{"tags":{"a":1}}', "tags must be an array or null"),
    (
        "POST",
        "/api/activity",
        b'{"kind":"nope","title":"x"}',
        "kind must be one of: message, reply, question, operator, pair, task, state",
    ),
    ("POST", "/api/activity", b'{"kind":"state","title":""}', "title must not be empty"),
]


@pytest.mark.parametrize(("method", "path", "body", "text"), BAD_BODIES)
async def test_bad_bodies_are_400_and_change_nothing(
    client: Client, redis: Redis, method: str, path: str, body: bytes, text: str
) -> None:
    before = await snapshot(redis)
    r = await client.request(method, path, content=body, headers=JSON)
    assert (r.status_code, r.json()) == (400, {"error": text})
    assert await snapshot(redis) == before


async def test_body_over_the_default_limit_is_413(client: Client, redis: Redis) -> None:
    before = await snapshot(redis)
    big = b'{"from":"a","to":"b","body":"' + b"x" * (1024 * 1024) + b'"}'
    r = await client.post("/api/messages", content=big, headers=JSON)
    assert (r.status_code, r.json()) == (413, {"error": "request body too large"})
    # Just under the limit is judged on its fields instead.
    r = await client.post(
        "/api/messages", content=b'{"from":"a","to":"b","body":"' + b"x" * 70_000 + b'"}', headers=JSON
    )
    assert r.status_code == 400
    assert await snapshot(redis) == before


@pytest.fixture
async def small_client(redis: Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Client]:
    monkeypatch.setenv("AGENT_RELAY_MAX_BODY_BYTES", "300")
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("AGENT_RELAY_ADMIN_TOKEN", ADMIN_TOKEN)
    async with AsyncTestClient(create_app(Settings.from_env())) as c:
        c.headers.update(AUTH)
        yield c


async def test_smaller_body_limit_from_the_environment(small_client: Client, redis: Redis) -> None:
    before = await snapshot(redis)
    r = await small_client.post("/api/messages", json={"from": "a", "to": "b", "body": "x" * 400})
    assert (r.status_code, r.json()) == (413, {"error": "request body too large"})
    assert await snapshot(redis) == before
    r = await small_client.post("/api/messages", json={"from": "a", "to": "b", "body": "x" * 100})
    assert r.status_code == 201


BAD_QUERIES = [
    ("/api/messages?for=" + "a" * 241, "for must be at most 240 characters"),
    ("/api/messages?to=" + "a" * 241, "to must be at most 240 characters"),
    ("/api/agents?tag=" + "t" * 81, "tag must be at most 80 characters"),
    ("/api/agents?kind=robot", "kind must be one of: provider, channel, orchestrator, system, user"),
    ("/api/activity?limit=0", "limit must be an integer between 1 and 500"),
    ("/api/activity?since=-5", "since must be a non-negative integer"),
    ("/api/activity?agentId=" + "a" * 241, "agentId must be at most 240 characters"),
    ("/api/messages/cursor?agentId=", "agentId must not be empty"),
    ("/api/events?lastEventId=nonsense", "Last-Event-ID is not an event id of this relay"),
    ("/api/events?types=" + "x" * 2001, "types must be at most 2000 characters"),
]


@pytest.mark.parametrize(("url", "text"), BAD_QUERIES)
async def test_bad_queries_are_400(client: Client, url: str, text: str) -> None:
    r = await client.get(url)
    assert (r.status_code, r.json()) == (400, {"error": text})


async def test_unknown_routes_and_methods(client: Client) -> None:
    assert (await client.get("/api/nope")).json() == {"error": "not found"}
    r = await client.put("/api/agents")
    assert (r.status_code, r.json()) == (405, {"error": "method not allowed"})
    assert (await client.get("/api/messages/abc")).status_code == 404
    r = await client.get("/api/messages/99999999999999999999999")
    assert (r.status_code, r.json()) == (404, {"error": "message not found"})


UNICODE_IDS = ["🤖-agent", "עברית-سلام", "nul\x00inside", "line\nbreak", 'quote"and\\slash', "ü" * 240]


@pytest.mark.parametrize("agent_id", UNICODE_IDS)
async def test_unicode_round_trips_in_ids_tags_and_bodies(client: Client, agent_id: str) -> None:
    tag = "🏷️" + agent_id[:40]
    body = "مرحبا 👋 \x00 \u202e RTL override \U0001f600 \r\n\t end"
    r = await client.post("/api/agents", json={"id": agent_id, "tags": [tag], "label": agent_id[:120]})
    assert r.status_code == 201, r.text
    assert r.json()["id"] == agent_id and r.json()["tags"] == [tag]
    got = (await client.get("/api/agents/" + _quote(agent_id))).json()
    assert got["id"] == agent_id and got["label"] == agent_id[:120]
    assert [a["id"] for a in (await client.get("/api/agents", params={"tag": tag})).json()] == [agent_id]
    sent = await client.post(
        "/api/messages", json={"from": agent_id, "to": "tag:" + tag, "body": body, "payload": {agent_id: body}}
    )
    assert sent.status_code == 201, sent.text
    to_self = await client.post("/api/messages", json={"from": "user", "to": agent_id, "body": body, "subject": tag})
    assert to_self.status_code == 201
    inbox = (await client.get("/api/messages", params={"for": agent_id})).json()
    assert [(m["body"], m["subject"], m["from"]) for m in inbox] == [(body, tag, "user")]
    stored = (await client.get(f"/api/messages/{sent.json()['id']}")).json()
    assert stored["payload"] == {agent_id: body} and stored["from"] == agent_id
    history = (await client.get("/api/messages", params={"from": agent_id})).json()
    assert [m["id"] for m in history] == [sent.json()["id"]]
    r = await client.patch("/api/agents/" + _quote(agent_id) + "/status", json={"status": "busy"})
    assert r.status_code == 200 and r.json()["agent"]["id"] == agent_id
    feed = (await client.get("/api/activity", params={"agentId": agent_id})).json()
    assert feed[0]["agentId"] == agent_id and feed[0]["meta"] == agent_id
    assert (await client.delete("/api/agents/" + _quote(agent_id))).json() == {"ok": True}


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


async def test_huge_lists_and_params_are_refused_not_crashed(client: Client, redis: Redis) -> None:
    before = await snapshot(redis)
    r = await client.post("/api/agents", json={"id": "a", "capabilities": ["c"] * 10_000})
    assert (r.status_code, r.json()) == (400, {"error": "capabilities must have at most 100 items"})
    r = await client.post("/api/agents", json={"id": "a", "meta": {str(i): i for i in range(20_000)}})
    assert (r.status_code, r.json()) == (400, {"error": "meta is too large"})
    r = await client.get("/api/agents", params={"status": "x" * 10_000})
    assert r.status_code == 400
    r = await client.get("/api/messages", params={"limit": "9" * 5000})
    assert (r.status_code, r.json()) == (400, {"error": "limit must be an integer between 1 and 500"})
    assert await snapshot(redis) == before


async def test_odd_session_headers_and_event_ids(client: Client) -> None:
    await client.post("/api/agents", json={"id": "a"})
    for value in (b"9" * 5000, b"\xb2", b"-5", b"1e5", b""):
        r = await client.post(
            "/api/agents/a/heartbeat", headers=[(b"X-Agent-Session-Id", b"s"), (b"X-Agent-Session-Started-At", value)]
        )
        assert r.status_code == 200, value
    for bad in ("bus=" + "9" * 100 + "-0", "bus=18446744073709551616-0", "bus=1-18446744073709551616", "bus=٣-0"):
        r = await client.get("/api/events", params={"lastEventId": bad})
        assert (r.status_code, r.json()) == (400, {"error": "Last-Event-ID is not an event id of this relay"}), bad

"""JSON bodies are typed strictly: a string is never taken for a boolean, a number, a list or an object.

Litestar's own conversion is lax (it must be, for query strings); the seed checks `typeof` and refuses.
Every refusal is a 400 `{"error": ...}` that stores nothing; query and path parameters stay lax.
"""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from relay_model.settings import Settings
from tests.conftest import ADMIN_TOKEN
from tests.integration.test_robustness import snapshot

Client = AsyncTestClient  # type: ignore[type-arg]

MSG = {"from": "alice", "to": "bob"}
AGENT = {"id": "worker-1"}
TOKEN = {"role": "agent", "sub": "worker-1"}
COMMAND = {"type": "run", "source": "alice", "target": "bob"}
TASK = {"title": "fix the build"}


@pytest.fixture
def settings(redis_url: str) -> Settings:
    # A node that can sign tokens, so a refused POST /api/tokens is refused for its body alone.
    return Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN, token_secret="strict-bodies-secret-0123456789abcdef")


WRONG_TYPES: list[tuple[str, str, dict[str, Any], str]] = [
    # messages
    ("POST", "/api/messages", {**MSG, "claimable": "true"}, "claimable must be a boolean"),
    ("POST", "/api/messages", {**MSG, "claimable": 1}, "claimable must be a boolean"),
    ("POST", "/api/messages", {**MSG, "replyTo": "12"}, "replyTo must be an integer or null"),
    ("POST", "/api/messages", {**MSG, "body": 5}, "body must be a string"),
    ("POST", "/api/messages", {**MSG, "from": True}, "from must be a string"),
    ("POST", "/api/messages", {**MSG, "to": ["bob"]}, "to must be a string or null"),
    ("POST", "/api/messages", {**MSG, "payload": "{}"}, "payload must be an object or null"),
    ("POST", "/api/messages", {**MSG, "meta": ["x"]}, "meta must be an object or null"),
    ("POST", "/api/messages/1/claim", {"agentId": "bob", "ttlMs": "60"}, "ttlMs must be an integer or null"),
    ("POST", "/api/messages/cursor", {"agentId": "bob", "cursor": "5"}, "cursor must be an integer"),
    # agents
    ("POST", "/api/agents", {**AGENT, "pid": "12"}, "pid must be an integer or null"),
    ("POST", "/api/agents", {**AGENT, "pid": 12.5}, "pid must be an integer or null"),
    # `12.0` is an integer to the seed (one number type in JavaScript); the next wrong field still counts.
    ("POST", "/api/agents", {**AGENT, "pid": 12.0, "host": 5}, "host must be a string or null"),
    ("POST", "/api/agents", {**AGENT, "sessionStartedAt": "5"}, "sessionStartedAt must be an integer or null"),
    ("POST", "/api/agents", {**AGENT, "name": 7}, "name must be a string or null"),
    ("POST", "/api/agents", {**AGENT, "tags": "a,b"}, "tags must be an array or null"),
    ("POST", "/api/agents", {**AGENT, "capabilities": {"a": 1}}, "capabilities must be an array or null"),
    ("POST", "/api/agents", {**AGENT, "meta": "{}"}, "meta must be an object or null"),
    (
        "POST",
        "/api/agents/worker-1/heartbeat",
        {"sessionStartedAt": "5"},
        "sessionStartedAt must be an integer or null",
    ),
    ("PATCH", "/api/agents/user/tags", {"tags": "a"}, "tags must be an array or null"),
    # tokens: the seed's one text for every bad ttlSeconds
    ("POST", "/api/tokens", {**TOKEN, "ttlSeconds": "60"}, "ttlSeconds must be a positive integer"),
    ("POST", "/api/tokens", {**TOKEN, "ttlSeconds": True}, "ttlSeconds must be a positive integer"),
    ("POST", "/api/tokens", {**TOKEN, "ttlSeconds": 1.5}, "ttlSeconds must be a positive integer"),
    ("POST", "/api/tokens", {**TOKEN, "sub": 5}, "sub must be a string or null"),
    ("POST", "/api/tokens", {**TOKEN, "scope": "agents:read"}, "scope must be an array or null"),
    # commands
    ("POST", "/api/commands", {**COMMAND, "type": 5}, "type must be a string"),
    ("POST", "/api/commands", {**COMMAND, "correlationId": 5}, "correlationId must be a string or null"),
    ("POST", "/api/commands", {**COMMAND, "ttlMs": "60"}, "ttlMs must be a positive integer"),
    ("POST", "/api/commands", {**COMMAND, "params": "{}"}, "params must be an object"),
    ("POST", "/api/commands", {**COMMAND, "params": ["a"]}, "params must be an object"),
    # tasks
    ("POST", "/api/tasks", {"title": 5}, "title must be a string"),
    ("POST", "/api/tasks", {**TASK, "metadata": "{}"}, "metadata must be an object or null"),
    ("POST", "/api/tasks", {**TASK, "target": ["bob"]}, "target must be a string or null"),
]


@pytest.mark.parametrize(("method", "path", "body", "text"), WRONG_TYPES)
async def test_wrong_json_types_are_refused_and_store_nothing(
    client: Client, redis: Redis, method: str, path: str, body: dict[str, Any], text: str
) -> None:
    before = await snapshot(redis)
    r = await client.request(method, path, json=body)
    assert (r.status_code, r.json()) == (400, {"error": text})
    assert await snapshot(redis) == before


async def test_wrong_types_on_commands_and_tasks_updates_store_nothing(client: Client, redis: Redis) -> None:
    command = (await client.post("/api/commands", json=COMMAND)).json()
    task = (await client.post("/api/tasks", json=TASK)).json()
    before = await snapshot(redis)
    r = await client.patch(f"/api/commands/{command['id']}", json={"status": "running", "error": 5})
    assert (r.status_code, r.json()) == (400, {"error": "error must be a string or null"})
    r = await client.patch(f"/api/tasks/{task['id']}/status", json={"status": "done", "note": 5})
    assert (r.status_code, r.json()) == (400, {"error": "note must be a string or null"})
    r = await client.post(f"/api/tasks/{task['id']}/claim", json={"agentId": "bob", "ttlMs": "60"})
    assert (r.status_code, r.json()) == (400, {"error": "ttlMs must be an integer or null"})
    assert await snapshot(redis) == before


async def test_correct_types_are_accepted(client: Client) -> None:
    r = await client.post("/api/agents", json={**AGENT, "pid": 12.0, "tags": ["a"], "meta": {"k": [1, {"x": None}]}})
    assert r.status_code == 201, r.text
    agent = (await client.get("/api/agents/worker-1")).json()
    assert (agent["pid"], agent["tags"], agent["meta"]) == (12, ["a"], {"k": [1, {"x": None}]})
    assert isinstance(agent["pid"], int)
    assert (await client.post("/api/agents/worker-1/heartbeat", json={"sessionStartedAt": 5})).status_code == 200
    # An optional body may still be absent, or null.
    assert (await client.post("/api/agents/worker-1/heartbeat")).status_code == 200
    assert (await client.post("/api/agents/worker-1/heartbeat", content=b"null")).status_code == 200

    r = await client.post("/api/messages", json={**MSG, "claimable": True, "payload": {"n": 1}, "body": "hi"})
    assert r.status_code == 201, r.text
    message = r.json()
    assert (message["claimable"], message["payload"]) == (True, {"n": 1})

    r = await client.post("/api/tokens", json={**TOKEN, "ttlSeconds": 60, "scope": ["agents:read"]})
    assert r.status_code == 201, r.text
    r = await client.post("/api/tokens", json={**TOKEN, "ttlSeconds": 60.0})
    assert r.status_code == 201, r.text
    assert r.json()["expiresAt"] // 1000 - r.json()["createdAt"] // 1000 == 60

    r = await client.post("/api/commands", json={**COMMAND, "ttlMs": 60_000, "params": {"a": 1}})
    assert r.status_code == 201, r.text
    assert r.json()["params"] == {"a": 1}

    r = await client.post("/api/tasks", json={**TASK, "metadata": {"a": 1}})
    assert r.status_code == 201, r.text
    task_id = r.json()["id"]
    # Path and query parameters arrive as strings and are still converted.
    r = await client.post(f"/api/tasks/{task_id}/claim", json={"agentId": "worker-1", "ttlMs": 60_000})
    assert r.status_code == 200, r.text
    r = await client.get("/api/messages", params={"for": "bob", "limit": "5"})
    assert r.status_code == 200, r.text
    assert [m["id"] for m in r.json()] == [message["id"]]


async def test_a_wrong_type_before_broken_json_is_still_broken_json(client: Client, redis: Redis) -> None:
    # The strict decoder stops at the first wrong type; the document as a whole is judged first.
    before = await snapshot(redis)
    r = await client.post(
        "/api/messages", content=b'{"from":"a","claimable":"true",', headers={"content-type": "application/json"}
    )
    assert (r.status_code, r.json()) == (400, {"error": "JSON is malformed: input data was truncated"})
    r = await client.post(
        "/api/messages", content=b'{"from":"a","to":"b"} x', headers={"content-type": "application/json"}
    )
    assert (r.status_code, r.json()["error"][:17]) == (400, "JSON is malformed")
    assert await snapshot(redis) == before

"""Seeded random input against every write route: whatever arrives, the answer is never a 500."""

from __future__ import annotations

import json
import random
from typing import Any

from litestar.testing import AsyncTestClient

Client = AsyncTestClient  # type: ignore[type-arg]

FIELDS = [
    "id", "name", "kind", "status", "label", "tags", "capabilities", "meta", "pid", "sessionId",
    "sessionStartedAt", "from", "to", "subject", "body", "payload", "replyTo", "channel", "claimable",
    "idempotencyKey", "agentId", "ttlMs", "cursor", "rewind", "title", "metadata", "clientId", "messageId",
]  # fmt: skip
STRINGS = ["", "a", "broadcast", "tag:x", "cap:", "label:L", "user", "system", "offline", "online", "chat", "control",
           "state", "🤖", "\x00", "\n", "é" * 300, "x" * 70_000, "-1", "1e9", "null"]  # fmt: skip


def value(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(9 if depth < 3 else 6)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False])
    if choice == 2:
        return rng.choice([0, 1, -1, 2**53, 2**63, 10**30, 5, 1.5, -0.0])
    if choice in (3, 4, 5):
        return rng.choice(STRINGS)
    if choice in (6, 7):
        return [value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(FIELDS): value(rng, depth + 1) for _ in range(rng.randrange(4))}


def body(rng: random.Random) -> bytes:
    if rng.random() < 0.1:
        return rng.choice([b"", b"{", b"[1,", b"\xff", b"nul", b'{"a":1}garbage', b"1" * 500])
    doc = {field: value(rng) for field in rng.sample(FIELDS, rng.randrange(1, 8))}
    return json.dumps(doc).encode()


ROUTES = [
    ("POST", "/api/agents"),
    ("POST", "/api/agents/a/heartbeat"),
    ("PATCH", "/api/agents/a/status"),
    ("PATCH", "/api/agents/a/label"),
    ("PATCH", "/api/agents/a/tags"),
    ("POST", "/api/messages"),
    ("POST", "/api/messages/1/claim"),
    ("POST", "/api/messages/1/release"),
    ("POST", "/api/messages/1/read"),
    ("POST", "/api/messages/cursor"),
    ("POST", "/api/activity"),
]


async def test_random_bodies_never_cause_a_500(client: Client) -> None:
    rng = random.Random(20261125)
    await client.post("/api/agents", json={"id": "a"})
    await client.post("/api/messages", json={"from": "a", "to": "broadcast", "claimable": True})
    seen: set[int] = set()
    for _ in range(1500):
        method, path = rng.choice(ROUTES)
        r = await client.request(method, path, content=body(rng), headers={"content-type": "application/json"})
        seen.add(r.status_code)
        assert r.status_code < 500, (method, path, r.text)
        if r.status_code >= 400:
            assert set(r.json()) == {"error"}
    assert {200, 201, 400, 409} <= seen

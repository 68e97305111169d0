"""Redis round trips per hot-path request, counted with MONITOR on the real Redis.

MONITOR lists every command a client sends (commands a Lua script runs inside Redis are marked `lua`
and are not round trips); the node's once-a-second readiness PING is left out. Each row is exact:
a route that gains a round trip fails here, and one that loses one must update its row (and the
README's Benchmarks section) on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from relay_model.settings import Settings
from tests.conftest import ADMIN_TOKEN, AUTH

Client = AsyncTestClient  # type: ignore[type-arg]
SECRET = "round-trip-test-token-secret-0123456789"


class Monitor:
    """The commands clients other than this one send, between `start` and `stop`."""

    def __init__(self, redis_url: str) -> None:
        self.redis = Redis.from_url(redis_url, decode_responses=True)
        self.commands: list[str] = []

    async def __aenter__(self) -> Monitor:
        self.monitor = self.redis.monitor()
        await self.monitor.connect()
        await self.monitor.connection.send_command("MONITOR")  # type: ignore[union-attr]
        response = await self.monitor.connection.read_response()  # type: ignore[union-attr]
        assert response in ("OK", b"OK"), response
        self.reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        while True:
            entry = await self.monitor.next_command()
            if entry["client_type"] != "lua":
                self.commands.append(str(entry["command"]))

    async def count(self, request: Any) -> list[str]:
        """The commands `request` (an awaitable HTTP call) made the node send."""
        await self._sync("before")
        self.commands.clear()
        await request
        await self._sync("after")
        return [c for c in self.commands if not c.startswith(("PING", "ECHO round-trip-sync"))]

    async def _sync(self, tag: str) -> None:
        # MONITOR is in execution order: once our ECHO shows, everything before it has shown too.
        marker = f"ECHO round-trip-sync-{tag}"
        await self.redis.echo(f"round-trip-sync-{tag}")
        async with asyncio.timeout(5):
            while not any(c == marker for c in self.commands):
                await asyncio.sleep(0.005)

    async def __aexit__(self, *exc: object) -> None:
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader
        await self.monitor.connection.disconnect()  # type: ignore[union-attr]
        await self.redis.aclose()


@pytest.fixture
async def node(redis: Redis, redis_url: str) -> AsyncIterator[Client]:
    from relay_api.app import create_app

    # Default rate limits: an agent token's requests are counted, as in production.
    settings = Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN, token_secret=SECRET)
    async with AsyncTestClient(create_app(settings)) as c:
        c.headers.update(AUTH)
        yield c


async def _setup(node: Client) -> dict[str, Any]:
    for agent in ("a1", "a2", "g1", "g2"):
        tags = ["grp"] if agent.startswith("g") else []
        assert (await node.post("/api/agents", json={"id": agent, "tags": tags})).status_code in (200, 201)
    for i in range(3):
        r = await node.post("/api/messages", json={"from": "a2", "to": "a1", "body": f"m{i}"})
        assert r.status_code == 201, r.text
    claimable = await node.post("/api/messages", json={"from": "a2", "to": "a1", "claimable": True})
    r = await node.post("/api/tokens", json={"role": "agent", "sub": "a1"})
    assert r.status_code == 201, r.text
    return {"agent": {"Authorization": f"Bearer {r.json()['token']}"}, "claim_id": claimable.json()["id"]}


# (name, method, path, body, token, round trips). An agent token's check (revocation and the rate
# counter, relay_model/auth/lua/_token_guard.lua) rides in the script of a route that takes it there
# (send, inbox and history reads, claim); elsewhere it is a round trip of its own. The admin token is
# not rate-limited.
ROUTES: list[tuple[str, str, str, dict[str, Any] | None, str, int]] = [
    ("send, admin", "POST", "/api/messages", {"from": "a1", "to": "a2", "body": "x"}, "admin", 1),
    ("send, agent token", "POST", "/api/messages", {"from": "a1", "to": "a2", "body": "x"}, "agent", 1),
    ("send tag: fan-out", "POST", "/api/messages", {"from": "a1", "to": "tag:grp", "body": "x"}, "admin", 1),
    ("inbox read, admin", "GET", "/api/messages?for=a1&limit=20", None, "admin", 1),
    ("inbox read, agent token", "GET", "/api/messages?for=a1&limit=20", None, "agent", 1),
    ("history read", "GET", "/api/messages?to=a1&limit=20", None, "admin", 1),
    ("history read, agent token", "GET", "/api/messages?to=a1&limit=20", None, "agent", 1),
    ("claim, admin", "POST", "/api/messages/{claim_id}/claim", {"agentId": "a1"}, "admin", 1),
    # A bound token claims only a message its agent may read: checked inside the claim script.
    ("claim, agent token", "POST", "/api/messages/{claim_id}/claim", {"agentId": "a1"}, "agent", 1),
    ("heartbeat, admin", "POST", "/api/agents/a1/heartbeat", {}, "admin", 1),
    ("heartbeat, agent token", "POST", "/api/agents/a1/heartbeat", {}, "agent", 2),
    # The task lives in the `task` hash-tag group; the target's notification message and the "Task
    # created" activity entry in the `bus` group: one script (messages/lua/message_send_recorded.lua).
    ("task create", "POST", "/api/tasks", {"title": "t", "target": "a2"}, "admin", 2),
    ("command poll, admin", "GET", "/api/commands?target=a1&status=pending", None, "admin", 1),
    ("command poll, agent token", "GET", "/api/commands?target=a1&status=pending", None, "agent", 2),
]


async def test_round_trips_per_hot_path_request(node: Client, redis_url: str) -> None:
    ids = await _setup(node)
    counted: dict[str, list[str]] = {}
    async with Monitor(redis_url) as monitor:
        for name, method, path, body, token, _ in ROUTES:
            headers = AUTH if token == "admin" else ids["agent"]
            url = path.format(claim_id=ids["claim_id"])
            # Once unmeasured (first use of a script may load it), then the steady state.
            for measured in (False, True):
                commands = await monitor.count(node.request(method, url, json=body, headers=headers))
                if measured:
                    counted[name] = commands
    for name, *_, expected in ROUTES:
        assert len(counted[name]) == expected, f"{name}: {counted[name]}"


async def test_monitor_sees_a_plain_round_trip(node: Client, redis_url: str) -> None:
    """The counter itself: a route known to make exactly one plain Redis call shows exactly it."""
    async with Monitor(redis_url) as monitor:
        commands = await monitor.count(node.get("/api/messages/cursor?agentId=a1"))
    assert [c.split()[0] for c in commands] == ["MGET"]

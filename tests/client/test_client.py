"""The client against a real `relay serve` node: what each call sends and what it decodes, sync and async."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from redis.asyncio import Redis

from relay_client import NO_RETRY, AsyncClient, Client, RelayError
from relay_client.models import Agent, Command, Message, Orchestrator
from tests.conftest import ADMIN_TOKEN

pytestmark = pytest.mark.multinode


def test_messages_inbox_cursor_and_claims(url: str) -> None:
    with Client(url, ADMIN_TOKEN) as relay:
        for agent_id in ("alice", "bob", "carol"):
            assert relay.agents.register(agent_id, tags=["team"], capabilities=["review"]).id == agent_id
        first = relay.messages.send("alice", "bob", "hello bob", subject="hi", payload={"n": 1})
        assert isinstance(first, Message)
        assert (first.from_, first.to, first.body, first.subject, first.payload) == (
            "alice",
            "bob",
            "hello bob",
            "hi",
            {"n": 1},
        )
        reply = relay.messages.send("bob", body="hello alice", reply_to=first.id)
        assert (reply.to, reply.reply_to, reply.thread_id) == ("alice", first.id, first.id)
        fan = relay.messages.send("alice", "tag:team", "to the team", claimable=True)

        inbox = relay.messages.inbox("bob")
        assert [m.id for m in inbox] == [first.id, fan.id]
        assert relay.messages.inbox("bob", since=first.id) == [inbox[1]]
        assert relay.messages.get(first.id) == first

        cursor = relay.messages.cursor("bob")
        assert (cursor.agent_id, cursor.cursor, cursor.latest_id) == ("bob", 0, fan.id)
        assert relay.messages.set_cursor("bob", first.id).cursor == first.id
        assert relay.messages.mark_read(fan.id, "bob").cursor == fan.id
        assert relay.messages.set_cursor("bob", 0, rewind=True).cursor == 0

        claimed = relay.messages.claim(fan.id, "carol", ttl_ms=60_000)
        assert claimed.claimed_by == "carol" and claimed.claim_expires_at is not None
        with pytest.raises(RelayError) as lost:
            relay.messages.claim(fan.id, "bob")
        assert (lost.value.status, lost.value.error) == (409, "message already claimed by carol")
        assert lost.value.body == {"error": "message already claimed by carol"}
        assert relay.messages.release(fan.id, "carol").claimed_by is None

        history = relay.messages.history(from_="alice")
        assert [m.id for m in history] == [first.id, fan.id]


def test_errors_carry_the_relays_status_and_text(url: str) -> None:
    with Client(url, ADMIN_TOKEN) as relay:
        with pytest.raises(RelayError) as missing:
            relay.agents.get("nobody")
        assert (missing.value.status, missing.value.error) == (404, "agent not found")
        relay.agents.register("gone", status="offline")
        with pytest.raises(RelayError) as offline:
            relay.messages.send("x", "gone", "hello?")
        assert (offline.value.status, offline.value.error) == (422, 'agent "gone" is offline')
        with pytest.raises(RelayError) as bad:
            relay.messages.inbox("x", limit=501)
        assert bad.value.status == 400 and "limit" in bad.value.error
    with Client(url, "wrong-token") as stranger, pytest.raises(RelayError) as refused:
        stranger.agents.list()
    assert (refused.value.status, refused.value.error) == (401, "invalid token")
    with Client("http://127.0.0.1:9", ADMIN_TOKEN, retry=NO_RETRY) as nowhere, pytest.raises(RelayError) as down:
        nowhere.agents.list()
    assert down.value.status == 0 and down.value.unreachable and "cannot reach the relay" in down.value.error


def test_ids_are_sent_as_one_path_segment(url: str) -> None:
    odd = "a b?c#d%e&f=ü"
    with Client(url, ADMIN_TOKEN) as relay:
        relay.agents.register(odd, label="odd")
        assert relay.agents.get(odd).label == "odd"
        relay.agents.set_label(odd, None)
        assert relay.agents.get(odd).label is None
        assert relay.agents.set_tags(odd, ["x", "y"]).tags == ["x", "y"]
        relay.agents.delete(odd)
        assert [a.id for a in relay.agents.list()] == []


async def test_orchestrator_routes_async(url: str, redis: Redis) -> None:
    """What the host orchestrator does: register, heartbeat, report agents, take its command queue."""
    async with AsyncClient(url, ADMIN_TOKEN) as relay:
        orch = await relay.orchestrators.register(
            "host1", "host1.local", providers=["claude"], base_dir="/work", version="1.2.3", protocol_version=2
        )
        assert isinstance(orch, Orchestrator)
        assert (orch.agent_id, orch.providers, orch.base_dir, orch.status) == (
            "orchestrator:host1",
            ["claude"],
            "/work",
            "online",
        )
        await relay.orchestrators.heartbeat("host1", version="1.2.4")
        assert (await relay.orchestrators.get("host1")).version == "1.2.4"
        managed = await relay.orchestrators.set_agents("host1", [{"id": "w1", "provider": "claude"}])
        assert managed.agents == [{"id": "w1", "provider": "claude"}]
        assert [o.id for o in await relay.orchestrators.list()] == ["host1"]

        spawn = await relay.orchestrators.spawn("host1", "claude", label="worker")
        assert isinstance(spawn.command, Command)
        assert (spawn.orchestrator_id, spawn.command.type, spawn.command.target) == (
            "host1",
            "agent.spawn",
            "orchestrator:host1",
        )
        assert spawn.command.params["cwd"] == "/work"
        queue = await relay.commands.list(target="orchestrator:host1", status="pending")
        assert [c.id for c in queue] == [spawn.command.id]

        # The agent the orchestrator spawned registers under it and heartbeats.
        worker = await relay.agents.register("w1", orchestrator_id="host1", meta={"runnerManaged": True})
        assert isinstance(worker, Agent) and worker.orchestrator_id == "host1"
        assert (await relay.agents.heartbeat("w1", status="busy")).status == "busy"
        assert (await relay.agents.set_status("w1", "idle")).status == "idle"

        assert (await relay.commands.accept(spawn.command.id)).status == "accepted"
        assert (await relay.commands.start(spawn.command.id)).status == "running"
        done = await relay.commands.succeed(spawn.command.id, {"agentId": "w1", "pid": 4242})
        assert (done.status, done.result, done.final) == ("succeeded", {"agentId": "w1", "pid": 4242}, True)
        assert await relay.commands.list(target="orchestrator:host1", status="pending") == []
        with pytest.raises(RelayError) as final:
            await relay.commands.fail(spawn.command.id, "too late")
        assert final.value.status == 409
        assert final.value.error == "command is already succeeded; a finished command cannot change"

        other = await relay.commands.create("agent.prompt", source="user", target="w1", params={"prompt": "go"})
        await relay.commands.cancel(other.id)
        assert (await relay.commands.get(other.id)).status == "canceled"
        restart = await relay.agents.action("w1", "restart")
        assert (restart.action, restart.command.type) == ("restart", "agent.restart")
        shut = await relay.orchestrators.action("host1", "shutdown", agent_id="w1")
        assert shut.command.type == "agent.shutdown"

        await relay.orchestrators.delete("host1")
        with pytest.raises(RelayError) as removed:
            await relay.orchestrators.get("host1")
        assert (removed.value.status, removed.value.error) == (404, "orchestrator not found")


async def test_tokens_and_provider_config_async(url: str) -> None:
    async with AsyncClient(url, ADMIN_TOKEN) as admin:
        issued = await admin.tokens.create("agent", sub="w1", scope=["agents:read"], ttl_seconds=600)
        assert (issued.role, issued.sub, issued.scope) == ("agent", "w1", ["agents:read"])
        assert issued.token and (await admin.tokens.get(issued.jti)).jti == issued.jti
        assert [t.jti for t in await admin.tokens.list()] == [issued.jti]
        async with AsyncClient(url, issued.token) as agent:
            assert await agent.agents.list() == []  # the token works (and the relay has no agents)
            with pytest.raises(RelayError) as scoped:
                await agent.messages.send("w1", "x", "hi")
            assert (scoped.value.status, scoped.value.error) == (403, "token lacks scope messages:send")
            await admin.tokens.revoke(issued.jti)
            with pytest.raises(RelayError) as revoked:
                await agent.agents.list()
            assert (revoked.value.status, revoked.value.error) == (401, "token revoked")
        with pytest.raises(RelayError) as again:
            await admin.tokens.revoke(issued.jti)
        assert (again.value.status, again.value.error) == (404, "token not found or already revoked")

        defaults = await admin.providers.configs()
        assert set(defaults) == {"claude", "codex"} and defaults["claude"].command == "claude"
        saved = await admin.providers.put("claude", {"command": "claude-x", "env": {"KEY": "secret"}})
        assert (saved.command, saved.env) == ("claude-x", {"KEY": "********"})
        assert (await admin.providers.get("claude")).default_tags == ["claude"]
        checked = await admin.providers.test("claude")
        assert (checked.ok, checked.checked_on, checked.command) == (False, "api-node", "claude-x")


async def test_async_client_runs_calls_concurrently(url: str) -> None:
    async with AsyncClient(url, ADMIN_TOKEN) as relay:
        await relay.agents.register("crowd")
        sent = await asyncio.gather(
            *(relay.messages.send("x", "crowd", f"m{i}", idempotency_key=f"k{i % 10}") for i in range(30))
        )
        # Ten distinct keys: ten messages, every repeat answered with the first of its key.
        assert len({m.id for m in sent}) == 10
        assert len(await relay.messages.inbox("crowd")) == 10


def test_health_and_probes(url: str) -> None:
    with Client(url, ADMIN_TOKEN) as relay:
        health = relay.health()
        assert health.ok and health.version == "0.10.0" and health.redis == {"ok": True}
        assert relay.healthz().ok and relay.readyz().ok
    with Client(url, token="") as anonymous:
        assert anonymous.health().ok  # no token needed


def test_injected_transport_and_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[{"id": "a", "unknownNewField": {"x": 1}, "status": "hibernating"}])

    transport = httpx.MockTransport(handler)
    with Client("http://relay.test/", "tok", transport=transport, headers={"X-Agent-Session-Id": "s"}) as c:
        agents = c.agents.list(status="online", tag="t")
    # An old client reads a newer relay: unknown fields and new enum values decode.
    assert agents == [Agent(id="a", status="hibernating")]
    (request,) = seen
    assert str(request.url) == "http://relay.test/api/agents?status=online&tag=t"
    assert request.headers["authorization"] == "Bearer tok" and request.headers["x-agent-session-id"] == "s"

"""Orchestrators, spawn and actions over HTTP against a real Redis: seed fields, texts, commands, audit."""

from __future__ import annotations

import json

from litestar.testing import AsyncTestClient

from relay_model import keys
from relay_model.relay import Relay, reap_once

ORCH = {"id": "o1", "hostname": "devbox", "baseDir": "/home/dev", "apiUrl": "http://127.0.0.1:1"}


async def _register(client: AsyncTestClient, **extra: object) -> dict:  # type: ignore[type-arg]
    r = await client.post("/api/orchestrators", json={**ORCH, **extra})
    assert r.status_code in (200, 201), r.text
    return r.json()  # type: ignore[no-any-return]


async def _bus_events(relay: Relay, prefix: str) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    entries = await relay.redis.xrange(keys.events(keys.BUS))
    return [(f["t"], json.loads(f["d"])) for _, f in entries if f["t"].startswith(prefix)]


async def test_register_defaults_agent_card_and_upsert(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    r = await client.post("/api/orchestrators", json={**ORCH, "protocolVersion": 2, "version": "0.10.0"})
    assert r.status_code == 201
    orch = r.json()
    assert orch["providers"] == ["claude", "codex"]
    assert orch["agentId"] == "orchestrator:o1" and orch["status"] == "online"
    assert orch["protocolVersion"] == 2 and orch["version"] == "0.10.0" and orch["agents"] == []
    agent = (await client.get("/api/agents/orchestrator:o1")).json()
    assert agent["kind"] == "orchestrator" and agent["meta"]["orchestratorId"] == "o1"
    r = await client.post("/api/orchestrators", json={**ORCH, "providers": ["codex"]})
    assert r.status_code == 200 and r.json()["providers"] == ["codex"]
    assert r.json()["registeredAt"] == orch["registeredAt"]
    assert [o["id"] for o in (await client.get("/api/orchestrators")).json()] == ["o1"]
    assert (await client.get("/api/orchestrators/o1")).json()["providers"] == ["codex"]
    assert (await client.get("/api/orchestrators/zz")).json() == {"error": "orchestrator not found"}
    feed = (await client.get("/api/activity?agentId=orchestrator:o1")).json()
    assert [e["title"] for e in feed] == ["Orchestrator reconnected", "Orchestrator registered"]
    assert [t for t, _ in await _bus_events(relay, "orchestrator.")] == ["orchestrator.status", "orchestrator.status"]


async def test_register_validation(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    cases = [
        ({"hostname": "h"}, "id required"),
        ({"id": "o", "hostname": "h", "protocolVersion": 0}, "protocolVersion must be a positive integer"),
        ({"id": "o", "hostname": "h", "protocolVersion": 1.5}, "protocolVersion must be a positive integer"),
        ({"id": "o", "hostname": "h", "protocolVersion": "2"}, "protocolVersion must be a positive integer"),
        ({"id": "o", "hostname": "h", "apiUrl": "file:///etc"}, "apiUrl must be an http or https URL"),
        ({"id": "o", "hostname": "h", "apiUrl": "ftp://x"}, "apiUrl must be an http or https URL"),
        ({"id": "o", "hostname": "h", "providers": ["gemini"]}, "providers must be one of: claude, codex"),
    ]
    for body, text in cases:
        r = await client.post("/api/orchestrators", json=body)
        assert (r.status_code, r.json()) == (400, {"error": text}), body


async def test_heartbeat_runtime_and_agents(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    await _register(client)
    r = await client.post("/api/orchestrators/o1/heartbeat", json={"version": "0.10.1", "gitSha": "abc"})
    assert r.json() == {"ok": True}
    got = (await client.get("/api/orchestrators/o1")).json()
    assert got["version"] == "0.10.1" and got["gitSha"] == "abc"
    # A bare heartbeat keeps the runtime fields.
    assert (await client.post("/api/orchestrators/o1/heartbeat")).json() == {"ok": True}
    assert (await client.get("/api/orchestrators/o1")).json()["version"] == "0.10.1"
    r = await client.post("/api/orchestrators/o1/heartbeat", json={"protocolVersion": -1})
    assert r.json() == {"error": "protocolVersion must be a positive integer"}
    r = await client.post("/api/orchestrators/nope/heartbeat", json={})
    assert (r.status_code, r.json()) == (404, {"error": "orchestrator not found"})
    managed = [{"agentId": "codex-1", "provider": "codex", "pid": 7}]
    r = await client.patch("/api/orchestrators/o1/agents", json={"agents": managed})
    assert r.status_code == 200 and r.json()["orchestrator"]["agents"] == managed
    assert (await client.patch("/api/orchestrators/o1/agents", json={"agents": "x"})).json() == {
        "error": "agents must be an array"
    }


async def test_reaper_marks_stale_then_offline_and_heartbeat_revives(
    client: AsyncTestClient,  # type: ignore[type-arg]
    relay: Relay,
) -> None:
    orch = await _register(client)
    seen = orch["lastSeen"]
    stale_ms = int(relay.settings.stale_after_s * 1000)
    offline_ms = int(relay.settings.offline_after_s * 1000)
    assert (await reap_once(relay, now=seen + stale_ms - 1, audit=False)).reaped_orchestrator_ids == []
    assert (await reap_once(relay, now=seen + stale_ms, audit=False)).reaped_orchestrator_ids == ["o1"]
    assert (await client.get("/api/orchestrators/o1")).json()["status"] == "stale"
    assert (await reap_once(relay, now=seen + offline_ms, audit=False)).reaped_orchestrator_ids == ["o1"]
    assert (await client.get("/api/orchestrators/o1")).json()["status"] == "offline"
    assert (await reap_once(relay, now=seen + offline_ms * 2, audit=False)).reaped_orchestrator_ids == []
    statuses = [d["orchestrator"]["status"] for _, d in await _bus_events(relay, "orchestrator.status")]
    assert statuses[-2:] == ["stale", "offline"]
    await client.post("/api/orchestrators/o1/heartbeat")
    assert (await client.get("/api/orchestrators/o1")).json()["status"] == "online"


async def test_delete_emits_removed_and_drops_agent(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    await _register(client)
    assert (await client.delete("/api/orchestrators/o1")).json() == {"ok": True}
    assert (await client.get("/api/orchestrators/o1")).status_code == 404
    assert (await client.get("/api/agents/orchestrator:o1")).status_code == 404
    removed = await _bus_events(relay, "orchestrator.removed")
    assert len(removed) == 1 and removed[0][1]["orchestratorId"] == "o1"
    assert (await client.delete("/api/orchestrators/o1")).json() == {"error": "orchestrator not found"}


async def test_agent_spawn_without_orchestrator(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    r = await client.post("/api/agents/spawn", json={"provider": "claude"})
    assert (r.status_code, r.json()) == (400, {"error": "no orchestrator available for provider: claude"})
    # An orchestrator that does not offer the provider does not count, nor one that is not online.
    await _register(client, providers=["codex"])
    r = await client.post("/api/agents/spawn", json={"provider": "claude"})
    assert r.json() == {"error": "no orchestrator available for provider: claude"}
    assert (await client.post("/api/agents/spawn", json={})).json() == {"error": "provider required"}
    assert (await client.post("/api/agents/spawn", json=[])).json() == {"error": "provider required"}
    r = await client.post("/api/agents/spawn", json={"provider": "gemini"})
    assert r.json() == {"error": "provider must be one of: codex, claude"}
    r = await client.post("/api/agents/spawn", json={"provider": "codex", "approvalMode": "yolo"})
    assert r.json() == {"error": "approvalMode must be one of: open, guarded, read-only"}


async def test_agent_spawn_creates_command_and_audit(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    await _register(client, id="o0", providers=["claude"])
    await _register(client)
    r = await client.post("/api/agents/spawn", json={"provider": "codex", "label": "Fixer"})
    assert r.status_code == 202
    body = r.json()
    assert body["ok"] is True and body["orchestratorId"] == "o1" and body["provider"] == "codex"
    cmd = body["command"]
    assert (cmd["type"], cmd["source"], cmd["target"], cmd["status"]) == (
        "agent.spawn",
        "system",
        "orchestrator:o1",
        "pending",
    )
    params = cmd["params"]
    assert params.pop("requestedAt") > 0
    assert params == {
        "action": "spawn",
        "provider": "codex",
        "label": "Fixer",
        "approvalMode": "guarded",
        "requestedBy": "dashboard",
    }
    entry = (await client.get("/api/activity?limit=5")).json()[0]
    assert entry["title"] == "codex agent spawn requested (via o1)"
    assert (entry["body"], entry["meta"], entry["icon"], entry["view"]) == ("/home/dev", "o1", "ti-plus", "agents")
    assert entry["metadata"] == {
        "provider": "codex",
        "orchestratorId": "o1",
        "approvalMode": "guarded",
        "commandId": cmd["id"],
    }
    assert entry["clientId"].startswith("server-agent-spawn-codex-")
    queue = (await client.get("/api/commands?target=orchestrator:o1&status=pending")).json()
    assert [c["id"] for c in queue] == [cmd["id"]]


async def test_orchestrator_spawn(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    assert (await client.post("/api/orchestrators/nope/spawn", json={"provider": "codex"})).json() == {
        "error": "orchestrator not found"
    }
    await _register(client)
    r = await client.post("/api/orchestrators/o1/spawn", json={"provider": "claude", "prompt": "fix the tests"})
    assert r.status_code == 202
    body = r.json()
    assert set(body) == {"ok", "orchestratorId", "command"} and body["orchestratorId"] == "o1"
    params = body["command"]["params"]
    assert params["cwd"] == "/home/dev" and params["prompt"] == "fix the tests" and "label" not in params
    entry = (await client.get("/api/activity?limit=1")).json()[0]
    expected = ("Spawn claude agent requested", "/home/dev", "orchestrators")
    assert (entry["title"], entry["body"], entry["view"]) == expected
    assert entry["clientId"] == f"server-orchestrator-spawn-o1-{body['command']['id']}"
    assert entry["metadata"] == {
        "orchestratorId": "o1",
        "provider": "claude",
        "approvalMode": "guarded",
        "commandId": body["command"]["id"],
    }
    r = await client.post("/api/orchestrators/o1/spawn", json={"provider": "codex", "prompt": "x" * 4001})
    assert r.json() == {"error": "prompt must be at most 4000 characters"}
    r = await client.post("/api/orchestrators/o1/spawn", json={"provider": "codex", "cwd": "/srv/app"})
    assert r.json()["command"]["params"]["cwd"] == "/srv/app"


async def test_orchestrator_actions(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    await _register(client)
    r = await client.post("/api/orchestrators/o1/actions", json={"action": "restart", "agentId": "codex-1"})
    assert r.status_code == 202
    body = r.json()
    assert body["ok"] is True and body["action"] == "restart"
    cmd = body["command"]
    assert (cmd["type"], cmd["target"]) == ("agent.restart", "codex-1")
    assert cmd["params"]["orchestratorId"] == "o1" and cmd["params"]["agentId"] == "codex-1"
    entry = (await client.get("/api/activity?limit=1")).json()[0]
    assert (entry["title"], entry["body"], entry["icon"]) == ("Agent restart requested", "codex-1", "ti-refresh")
    assert entry["clientId"] == f"server-orchestrator-action-o1-restart-{cmd['id']}"
    r = await client.post("/api/orchestrators/o1/actions", json={"action": "shutdown"})
    cmd = r.json()["command"]
    assert (cmd["type"], cmd["target"]) == ("agent.shutdown", "orchestrator:o1")
    assert "agentId" not in cmd["params"]
    entry = (await client.get("/api/activity?limit=1")).json()[0]
    assert (entry["body"], entry["icon"]) == ("all", "ti-power")
    assert (await client.post("/api/orchestrators/o1/actions", json={})).json() == {"error": "action required"}
    r = await client.post("/api/orchestrators/o1/actions", json={"action": "pause"})
    assert r.json() == {"error": "action must be one of: restart, shutdown"}


async def test_agent_actions_only_for_runner_managed(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    await client.post("/api/agents", json={"id": "plain"})
    await client.post("/api/agents", json={"id": "managed", "meta": {"runnerManaged": True}})
    await client.post("/api/agents", json={"id": "chan", "meta": {"runnerManaged": True}, "tags": ["channel"]})
    await client.post("/api/agents", json={"id": "chan2", "meta": {"runnerManaged": True, "kind": "channel"}})
    for agent in ("plain", "chan", "chan2", "user", "system"):
        r = await client.post(f"/api/agents/{agent}/actions", json={"action": "restart"})
        assert (r.status_code, r.json()) == (400, {"error": "agent does not support dashboard control actions"})
    r = await client.post("/api/agents/ghost/actions", json={"action": "restart"})
    assert (r.status_code, r.json()) == (404, {"error": "agent not found"})
    r = await client.post("/api/agents/managed/actions", json={"action": "shutdown"})
    assert r.status_code == 202
    body = r.json()
    assert body["ok"] is True and body["action"] == "shutdown"
    cmd = body["command"]
    assert (cmd["type"], cmd["source"], cmd["target"]) == ("agent.shutdown", "system", "managed")
    assert cmd["params"]["agentId"] == "managed" and cmd["params"]["requestedBy"] == "dashboard"
    entry = (await client.get("/api/activity?agentId=managed&limit=1")).json()[0]
    assert (entry["title"], entry["body"], entry["meta"], entry["icon"], entry["view"]) == (
        "Agent shutdown requested",
        "shutdown",
        "managed",
        "ti-power",
        "agents",
    )
    assert entry["metadata"] == {"action": "shutdown", "commandId": cmd["id"]}
    assert entry["clientId"] == f"server-agent-managed-action-shutdown-{cmd['id']}"


async def test_reaper_long_silence_goes_offline_in_one_pass(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    orch = await _register(client)
    later = orch["lastSeen"] + int(relay.settings.offline_after_s * 1000)
    assert (await reap_once(relay, now=later, audit=False)).reaped_orchestrator_ids == ["o1"]
    assert (await client.get("/api/orchestrators/o1")).json()["status"] == "offline"


async def test_heartbeat_revives_its_agent_card(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    await _register(client)
    await client.patch("/api/agents/orchestrator:o1/status", json={"status": "stale"})
    await client.post("/api/orchestrators/o1/heartbeat")
    assert (await client.get("/api/agents/orchestrator:o1")).json()["status"] == "online"
    entries = await relay.redis.xrange(keys.events(keys.BUS))
    last_agent = [json.loads(f["d"]) for _, f in entries if f["t"] == "agent.status"][-1]
    assert last_agent["agent"]["id"] == "orchestrator:o1" and last_agent["agent"]["status"] == "online"

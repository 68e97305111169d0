"""Provider configs and connectors over HTTP against a real Redis (hosts simulated by PATCHing commands)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from litestar.testing import AsyncTestClient

from relay_model.agents.providers import REDACTED
from relay_model.commands.commands import Command
from relay_model.connection import connect
from relay_model.relay import Relay
from relay_model.settings import Settings


class Host:
    """Plays the host in a thread of its own (the in-process test client runs one request at a time):
    waits, bounded, for the target's first pending command and PATCHes it through the store."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pool = ThreadPoolExecutor(max_workers=1)

    def answer(self, target: str, status: str, result: dict | None = None, error: str | None = None) -> Future:  # type: ignore[type-arg]
        return self.pool.submit(asyncio.run, self._answer(target, status, result, error))

    async def _answer(self, target: str, status: str, result: dict | None, error: str | None) -> Command:  # type: ignore[type-arg]
        redis = connect(self.settings.redis_url)
        try:
            relay = Relay(redis, self.settings)
            for _ in range(250):
                queue = await relay.commands.list(target=target, status="pending")
                if queue:
                    return await relay.commands.update(queue[0].id, status=status, result=result, error=error)
                await asyncio.sleep(0.02)
            raise AssertionError("no command arrived")
        finally:
            await redis.aclose()


@pytest.fixture
def host(settings: Settings) -> Iterator[Host]:
    h = Host(settings)
    yield h
    h.pool.shutdown(wait=True)


async def test_provider_defaults(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    configs = (await client.get("/api/providers/config")).json()
    assert set(configs) == {"claude", "codex"}
    claude = configs["claude"]
    assert claude["command"] == "claude" and configs["codex"]["command"] == "codex"
    assert claude["env"] == {} and claude["pluginDirs"] == [] and claude["defaultApprovalMode"] == "guarded"
    assert claude["defaultTags"] == ["claude"] and claude["defaultCapabilities"]
    assert claude["headless"] == {"tmuxPrefix": "relay-claude", "shutdownTimeoutMs": 10_000}
    assert (await client.get("/api/providers/codex/config")).json() == configs["codex"]
    r = await client.get("/api/providers/gemini/config")
    assert (r.status_code, r.json()) == (400, {"error": "provider must be one of: claude, codex"})


async def test_provider_put_validation(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    url = "/api/providers/claude/config"
    cases = [
        ([], "provider config body must be an object"),
        ({}, "command required"),
        ({"command": "  "}, "command required"),
        ({"command": "x" * 501}, "command must be at most 500 characters"),
        ({"command": "c", "defaultArgs": "x"}, "defaultArgs must be an array of strings"),
        ({"command": "c", "env": []}, "env must be an object"),
        ({"command": "c", "env": {"A": 1}}, "env.A must be a string"),
        (
            {"command": "c", "headless": {"shutdownTimeoutMs": 0}},
            "headless.shutdownTimeoutMs must be a positive integer",
        ),
        ({"command": "c", "headless": {"tmuxPrefix": "x" * 121}}, "headless.tmuxPrefix must be at most 120 characters"),
        ({"command": "c", "defaultApprovalMode": "x" * 81}, "defaultApprovalMode must be at most 80 characters"),
    ]
    for body, text in cases:
        r = await client.put(url, json=body)
        assert (r.status_code, r.json()) == (400, {"error": text}), body
    assert (await client.put("/api/providers/gemini/config", json={"command": "g"})).json() == {
        "error": "provider must be one of: claude, codex"
    }


async def test_provider_put_defaults_and_env_redaction(client: AsyncTestClient, relay) -> None:  # type: ignore[no-untyped-def, type-arg]
    url = "/api/providers/codex/config"
    r = await client.put(url, json={"command": "/opt/codex", "env": {"OPENAI_API_KEY": "sk-secret", "MODE": "x"}})
    assert r.status_code == 200
    got = r.json()
    assert got["command"] == "/opt/codex" and got["defaultTags"] == ["codex"]
    assert got["env"] == {"OPENAI_API_KEY": REDACTED, "MODE": REDACTED}
    # Sending the redacted value back keeps the secret; other nodes read the same stored config.
    await client.put(url, json={"command": "/opt/codex", "env": {"OPENAI_API_KEY": REDACTED, "MODE": "y"}})
    stored = await relay.providers.load("codex")
    assert stored.env == {"OPENAI_API_KEY": "sk-secret", "MODE": "y"}
    assert (await client.get(url)).json()["env"] == {"OPENAI_API_KEY": REDACTED, "MODE": REDACTED}


async def test_provider_test_on_api_node(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    await client.put("/api/providers/claude/config", json={"command": "sh"})
    r = await client.post("/api/providers/claude/config/test")
    assert r.status_code == 200
    body = r.json()
    assert body["ok"] is True and body["command"] == "sh" and body["path"].endswith("/sh")
    assert body["checkedOn"] == "api-node" and body["node"]
    await client.put("/api/providers/claude/config", json={"command": "no-such-provider-cli-xyz"})
    r = await client.post("/api/providers/claude/config/test")
    assert r.status_code == 422
    assert r.json()["ok"] is False and r.json()["path"] == ""
    assert r.json()["error"] == "no-such-provider-cli-xyz: not found on this API node's PATH"


async def test_provider_test_via_orchestrator(client: AsyncTestClient, host: Host) -> None:  # type: ignore[type-arg]
    r = await client.post("/api/providers/claude/config/test", json={"via": "orchestrator"})
    assert (r.status_code, r.json()) == (400, {"error": "no orchestrator available for provider: claude"})
    await client.post("/api/orchestrators", json={"id": "o1", "hostname": "devbox"})
    answered = host.answer("orchestrator:o1", "succeeded", {"ok": True, "path": "/usr/local/bin/claude"})
    r = await client.post("/api/providers/claude/config/test", json={"orchestratorId": "o1"})
    cmd = answered.result(timeout=10)
    assert r.status_code == 200
    assert r.json()["checkedOn"] == "orchestrator" and r.json()["path"] == "/usr/local/bin/claude"
    assert r.json()["commandId"] == cmd.id and cmd.type == "provider.test"
    assert cmd.params["command"] == "claude"
    answered = host.answer("orchestrator:o1", "failed", error="claude: not found")
    r = await client.post("/api/providers/claude/config/test", json={"via": "orchestrator"})
    answered.result(timeout=10)
    assert r.status_code == 422 and r.json()["error"] == "claude: not found"


CONNECTOR = {"kind": "slack", "orchestratorId": "o1", "name": "Team Slack", "config": {"channel": "#dev"}}


async def test_connector_registry(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    r = await client.put("/api/connectors/slack", json=CONNECTOR)
    assert r.status_code == 201
    c = r.json()
    assert (c["id"], c["name"], c["kind"], c["orchestratorId"], c["status"]) == (
        "slack",
        "Team Slack",
        "slack",
        "o1",
        "unknown",
    )
    assert c["config"] == {"channel": "#dev"}
    r = await client.put("/api/connectors/slack", json={"kind": "slack", "orchestratorId": "o2"})
    assert r.status_code == 200 and r.json()["orchestratorId"] == "o2" and r.json()["config"] == {"channel": "#dev"}
    r = await client.put("/api/connectors/slack/config", json={"config": {"channel": "#ops"}})
    assert r.json()["config"] == {"channel": "#ops"}
    assert [x["id"] for x in (await client.get("/api/connectors")).json()] == ["slack"]
    assert (await client.get("/api/connectors/nope")).json() == {"error": "connector not found"}
    assert (await client.put("/api/connectors/nope/config", json={"config": {}})).status_code == 404
    assert (await client.put("/api/connectors/x", json={"kind": "slack"})).json() == {
        "error": "orchestratorId required"
    }
    assert (await client.delete("/api/connectors/slack")).json() == {"ok": True}
    assert (await client.get("/api/connectors/slack")).status_code == 404


async def test_connector_action_outcomes(client: AsyncTestClient, host: Host) -> None:  # type: ignore[type-arg]
    await client.put("/api/connectors/slack", json=CONNECTOR)
    r = await client.post("/api/connectors/slack/actions", json={"action": "explode"})
    assert r.json() == {
        "error": "action must be one of: install, uninstall, enable, disable, start, stop, restart, status, doctor"
    }
    r = await client.post("/api/connectors/nope/actions", json={"action": "start"})
    assert (r.status_code, r.json()) == (404, {"error": "connector not found"})

    # Succeeded -> 200, and the connector records the reported status.
    answered = host.answer("orchestrator:o1", "succeeded", {"status": "running", "pid": 9})
    r = await client.post("/api/connectors/slack/actions", json={"action": "start"})
    cmd = answered.result(timeout=10)
    assert r.status_code == 200
    body = r.json()
    assert body["ok"] is True and body["action"] == "start" and body["status"] == "running"
    assert body["command"]["id"] == cmd.id and cmd.type == "connector.start"
    assert cmd.params["connectorId"] == "slack" and cmd.params["config"] == {"channel": "#dev"}
    c = (await client.get("/api/connectors/slack")).json()
    assert (c["status"], c["lastAction"], c["lastCommandId"], c["lastError"]) == ("running", "start", cmd.id, None)

    # Failed -> 502 with the host's error.
    answered = host.answer("orchestrator:o1", "failed", error="token expired")
    r = await client.post("/api/connectors/slack/actions", json={"action": "doctor"})
    answered.result(timeout=10)
    assert r.status_code == 502 and r.json()["ok"] is False and r.json()["error"] == "token expired"
    assert (await client.get("/api/connectors/slack")).json()["lastError"] == "token expired"

    # No answer in time -> 502; the command is left pending with a ttl so it times out later.
    r = await client.post("/api/connectors/slack/actions", json={"action": "status", "timeoutMs": 200})
    assert r.status_code == 502
    assert r.json()["error"] == "no outcome from orchestrator o1 within 0.2s"
    assert r.json()["command"]["status"] == "pending" and r.json()["command"]["ttlMs"] == 30_200

    # wait: false -> 202 at once.
    r = await client.post("/api/connectors/slack/actions", json={"action": "stop", "wait": False})
    assert r.status_code == 202 and r.json()["ok"] is True and r.json()["command"]["type"] == "connector.stop"


async def test_concurrent_config_saves_never_write_back_a_stale_secret(relay: Relay) -> None:
    """Saves that keep a secret (sending it redacted) race one that changes it: the change survives."""
    import asyncio

    base = {"command": "claude", "env": {"API_KEY": "old"}}
    await relay.providers.write("claude", base)
    keepers = [relay.providers.write("claude", {"command": "claude", "env": {"API_KEY": "********"}}) for _ in range(30)]
    changer = relay.providers.write("claude", {"command": "claude", "env": {"API_KEY": "new"}})
    await asyncio.gather(*keepers[:15], changer, *keepers[15:])
    assert (await relay.providers.load("claude")).env == {"API_KEY": "new"}

"""The data tier: what used MULTI/WATCH before, run in-process on a plain Redis and on a Redis Cluster;
a node whose event subscription is down is not ready; a cluster nobody can reach is a 503; a worker
refuses a cluster without a queue of its own; script calls that would cross slots fail loudly."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from relay_api.app import create_app
from relay_api.embedded import EmbeddedRedis, free_port
from relay_model import keys
from relay_model.clock import now_ms
from relay_model.connection import connect
from relay_model.relay import LUA_BUNDLES, Relay
from relay_model.scripts import CrossSlotScript, Scripts
from relay_model.settings import Integration, Settings
from tests.conftest import ADMIN_TOKEN, AUTH, DataTier
from tests.procs import ROOT, relay_env

HOOK = Integration(name="ci", token="ci-token-0123456789abcdef")
TOKEN_SECRET = "tier-token-secret-0123456789abcdefghij"


@pytest.fixture
async def tier_client(tier: DataTier, tier_redis: Redis) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    settings = tier.settings(token_secret=TOKEN_SECRET, integrations=(HOOK,), integration_rate_limit_per_minute=3)
    async with AsyncTestClient(create_app(settings)) as c:
        c.headers.update(AUTH)
        yield c


async def test_provider_config_saves_race_without_losing_a_change(tier: DataTier, tier_redis: Redis) -> None:
    """Saves that keep a secret (sent redacted) race one that changes it: the compare-and-set script
    recomputes the losers on the newer config, so the change survives."""
    relay = Relay(tier_redis, tier.settings())
    await relay.providers.write("claude", {"command": "claude", "env": {"API_KEY": "old"}})
    keepers = [relay.providers.write("claude", {"command": "claude", "env": {"API_KEY": "********"}}) for _ in range(20)]
    changer = relay.providers.write("claude", {"command": "claude", "env": {"API_KEY": "new"}})
    await asyncio.gather(*keepers[:10], changer, *keepers[10:])
    assert (await relay.providers.load("claude")).env == {"API_KEY": "new"}


async def test_connectors_tokens_and_integration_counters(tier_client: AsyncTestClient, tier_redis: Redis) -> None:  # type: ignore[type-arg]
    c = tier_client
    # Connectors: register (201 then 200), re-describe keeping the config, delete.
    r = await c.put("/api/connectors/slack", json={"orchestratorId": "o1", "kind": "chat", "config": {"room": "a"}})
    assert r.status_code == 201, r.text
    r = await c.put("/api/connectors/slack", json={"orchestratorId": "o1", "kind": "chat", "name": "Slack"})
    assert (r.status_code, r.json()["name"], r.json()["config"]) == (200, "Slack", {"room": "a"})
    assert await tier_redis.zrange(keys.connectors_all(), 0, -1) == ["slack"]
    # Tokens: issue, list, revoke.
    r = await c.post("/api/tokens", json={"role": "viewer", "sub": "v"})
    assert r.status_code == 201, r.text
    jti = r.json()["jti"]
    assert await tier_redis.ttl(keys.token(jti)) > 0
    assert [t["jti"] for t in (await c.get("/api/tokens")).json()] == [jti]
    assert (await c.post(f"/api/tokens/{jti}/revoke")).status_code == 200
    # The integration's per-minute counter: three accepted, then 429; the counter always has its ttl.
    hook = {"Authorization": f"Bearer {HOOK.token}"}
    if 60_000 - now_ms() % 60_000 < 5_000:  # keep the burst inside one clock minute
        await asyncio.sleep((60_000 - now_ms() % 60_000) / 1000 + 0.05)
    event = {"target": "x", "title": "t"}
    codes = [(await c.post("/api/integrations/events", json=event, headers=hook)).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    assert 0 < await tier_redis.ttl(keys.integration_rate("ci", now_ms() // 60_000)) <= 120
    r = await c.delete("/api/connectors/slack")
    assert r.status_code == 200, r.text
    assert await tier_redis.exists(keys.connector("slack")) == 0
    assert await tier_redis.zcard(keys.connectors_all()) == 0


async def test_readyz_fails_while_the_event_subscription_is_down() -> None:
    """The data answers but SUBSCRIBE is refused (an ACL): /readyz is 503 and says why; /api/health
    still answers and shows `subscribed: false`; once SUBSCRIBE works again the node is ready."""
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp), persistent=False) as server:
        admin = Redis.from_url(server.url, decode_responses=True)
        try:
            # Readiness rides out a failure for its budget (relay_api/drain.py); a short one here.
            settings = Settings(redis_url=server.url, admin_token=ADMIN_TOKEN, ready_redis_budget_s=0.5)
            async with AsyncTestClient(create_app(settings)) as c:
                assert (await c.get("/readyz")).json() == {"ok": True}
                await admin.execute_command("ACL", "SETUSER", "default", "-subscribe")
                await admin.client_kill_filter(_type="pubsub")
                for _ in range(100):
                    r = await c.get("/readyz")
                    if r.status_code == 503:
                        break
                    await asyncio.sleep(0.05)
                assert (r.status_code, r.json()) == (503, {"ok": False, "error": "event subscription down"})
                health = await c.get("/api/health")
                assert health.status_code == 200 and health.json()["sse"]["subscribed"] is False
                await admin.execute_command("ACL", "SETUSER", "default", "+subscribe")
                for _ in range(100):
                    r = await c.get("/readyz")
                    if r.status_code == 200:
                        break
                    await asyncio.sleep(0.05)
                assert r.json() == {"ok": True}
        finally:
            await admin.aclose()


async def test_an_unreachable_cluster_is_storage_unavailable() -> None:
    settings = Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0", redis_cluster=True, admin_token=ADMIN_TOKEN)
    async with AsyncTestClient(create_app(settings)) as c:
        c.headers.update(AUTH)
        r = await c.get("/api/agents")
        assert (r.status_code, r.json(), r.headers["retry-after"]) == (503, {"error": "storage unavailable"}, "1")
        r = await c.get("/readyz")
        assert (r.status_code, r.json()["error"]) == (503, "storage unavailable")


def test_a_worker_refuses_a_cluster_without_its_own_queue(redis_url: str) -> None:
    for queue in ({}, {"AGENT_RELAY_QUEUE_REDIS_URL": redis_url}):
        env = relay_env(redis_url, ADMIN_TOKEN, AGENT_RELAY_REDIS_CLUSTER="1", **queue)
        if not queue:
            env.pop("AGENT_RELAY_QUEUE_REDIS_URL", None)
        done = subprocess.run(
            [sys.executable, "-m", "relay_api.cli", "worker"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 2
        assert "AGENT_RELAY_QUEUE_REDIS_URL" in done.stderr and "plain (non-cluster) Redis" in done.stderr


async def test_a_script_call_across_slots_is_refused_before_it_is_sent(fake_redis: Redis) -> None:
    scripts = Scripts(fake_redis, LUA_BUNDLES)
    with pytest.raises(CrossSlotScript) as raised:
        await scripts.run("tasks_get", [keys.task(1), keys.message(1)], [])
    text = str(raised.value)
    assert "lua script tasks_get" in text and keys.task(1) in text and keys.message(1) in text
    with pytest.raises(CrossSlotScript, match="lua script tasks_get was called without keys"):
        await scripts.run("tasks_get", [], [])
    # Keys of one group share a slot whatever their ids.
    assert await scripts.run("tasks_get", [keys.task(1), keys.task(2)], []) == [None, None]


def test_settings_read_the_cluster_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_RELAY_REDIS_CLUSTER", "1")
    monkeypatch.setenv("AGENT_RELAY_QUEUE_REDIS_URL", "redis://queue:6379/0")
    settings = Settings.from_env()
    assert settings.redis_cluster is True and settings.worker_problem() is None
    monkeypatch.delenv("AGENT_RELAY_QUEUE_REDIS_URL")
    assert "AGENT_RELAY_QUEUE_REDIS_URL" in (Settings.from_env().worker_problem() or "")


def test_connect_builds_a_cluster_client_only_when_asked() -> None:
    from redis.asyncio.cluster import RedisCluster

    assert isinstance(connect("redis://127.0.0.1:1/0", cluster=True), RedisCluster)
    assert not isinstance(connect("redis://127.0.0.1:1/0"), RedisCluster)

"""`POST /api/system/reap`, the worker's pass (same code, quieter audit) and what `/api/health` shows."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from relay_model import keys
from relay_model.agents.agents import RegisterAgentInput
from relay_model.clock import now_ms
from relay_model.relay import Relay
from relay_worker.jobs.reaper import JOB, reaper_pass, reaper_tick
from relay_worker.slots import interval_slot
from tests.timeshift import backdate_agent, backdate_claim

SEED_KEYS = {
    "reapedAgentIds",
    "reapedOrchestratorIds",
    "releasedMessageIds",
    "releasedTaskIds",
    "releasedOrphanedTaskIds",
    "expiredCommandIds",
}


def maintenance_runs(feed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in feed if e["title"] == "Maintenance reaper run"]


async def test_reap_route_answers_the_seed_shape_and_audits(
    client: AsyncTestClient, relay: Relay, redis: Redis
) -> None:  # type: ignore[type-arg]
    await client.post("/api/agents", json={"id": "lost"})
    await client.post("/api/agents", json={"id": "quiet"})
    await client.post("/api/agents", json={"id": "holder"})
    sent = (await client.post("/api/messages", json={"from": "user", "to": "holder", "claimable": True})).json()
    await client.post(f"/api/messages/{sent['id']}/claim", json={"agentId": "holder", "ttlMs": 60_000})
    now = now_ms()
    await backdate_agent(redis, "lost", now - 301_000)
    await backdate_agent(redis, "quiet", now - 61_000)
    await backdate_claim(redis, sent["id"], now - 1)

    r = await client.post("/api/system/reap")
    assert r.status_code == 200
    assert r.json() == {
        "reapedAgentIds": ["lost"],
        "reapedOrchestratorIds": [],
        "releasedMessageIds": [sent["id"]],
        "releasedTaskIds": [],
        "releasedOrphanedTaskIds": [],
        "expiredCommandIds": [],
    }
    assert (await client.get("/api/agents/quiet")).json()["status"] == "stale"
    assert (await client.get("/api/agents/lost")).json()["status"] == "offline"
    assert (await client.get(f"/api/messages/{sent['id']}")).json()["claimedBy"] is None
    feed = (await client.get("/api/activity")).json()
    (run,) = maintenance_runs(feed)
    assert run["body"] == "1 stale agent(s), 0 stale orchestrator(s), 1 message claim(s), 0 task claim(s), 0 command(s)"
    assert (run["kind"], run["icon"], run["view"]) == ("state", "ti-broom", "activity")
    assert run["clientId"].startswith("server-system-reap-")
    lost = [e for e in feed if e["title"] == "Heartbeat lost"]
    assert [(e["body"], e["meta"], e["icon"], e["view"], e["agentId"]) for e in lost] == [
        ("Agent marked offline", "lost", "ti-heart-off", "chat", "lost")
    ]

    # The seed audits every manual run, even one with nothing to do.
    await asyncio.sleep(0.002)  # a distinct clientId (it carries the time in ms)
    r = await client.post("/api/system/reap")
    assert set(r.json()) == SEED_KEYS and not any(r.json().values())
    await asyncio.sleep(0.002)  # a distinct clientId (it carries the time in ms)
    await client.post("/api/system/reap")
    runs = maintenance_runs((await client.get("/api/activity")).json())
    assert [e["body"] for e in runs] == [
        "0 stale agent(s), 0 stale orchestrator(s), 0 message claim(s), 0 task claim(s), 0 command(s)"
    ] * 2 + [run["body"]]


async def test_reap_route_needs_the_admin_scope(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    r = await client.post("/api/system/reap", headers={"Authorization": ""})
    assert r.status_code == 401
    r = await client.post("/api/system/reap", headers={"Authorization": "Bearer wrong"})
    assert r.status_code in (401, 403)


async def test_worker_pass_audits_only_when_it_touched_something(
    client: AsyncTestClient, relay: Relay, redis: Redis
) -> None:  # type: ignore[type-arg]
    slot = interval_slot(now_ms(), relay.settings.reap_interval_s)
    await reaper_pass(relay, "w1", slot)
    assert maintenance_runs((await client.get("/api/activity")).json()) == []

    await relay.agents.register(RegisterAgentInput(id="gone"))
    await backdate_agent(redis, "gone", now_ms() - 301_000)
    report = await reaper_pass(relay, "w1", slot)
    assert report.reaped_agent_ids == ["gone"]
    (run,) = maintenance_runs((await client.get("/api/activity")).json())
    assert run["body"].startswith("1 stale agent(s)")


async def test_health_shows_workers_and_the_last_reaper_pass(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    body = (await client.get("/api/health")).json()
    assert body["workers"]["alive"] == 0 and body["reaper"] is None

    await relay.maintenance.worker_heartbeat("w1")
    await relay.maintenance.worker_heartbeat("w2")
    await relay.maintenance.worker_gone("w2")
    before = now_ms()
    slot = interval_slot(before, relay.settings.reap_interval_s)
    await reaper_pass(relay, "w1", slot)
    body = (await client.get("/api/health")).json()
    assert body["workers"]["alive"] == 1 and body["workers"]["ids"] == ["w1"]
    reaper = body["reaper"]
    assert reaper["workerId"] == "w1" and reaper["slot"] == slot.index
    assert reaper["lastRunAt"] >= before and reaper["intervalS"] == relay.settings.reap_interval_s
    assert reaper["lastReport"]["reapedAgentIds"] == 0 and reaper["lastTouchedAt"] is None


async def test_a_tick_run_twice_runs_its_slot_once(relay: Relay, redis: Redis) -> None:
    """arq may run one job twice, and two replicas may each queue a tick of one slot."""
    await relay.agents.register(RegisterAgentInput(id="gone"))
    await backdate_agent(redis, "gone", now_ms() - 301_000)
    scheduled = now_ms()
    contexts = [{"relay": relay, "worker_id": f"w{i}", "score": scheduled} for i in range(4)]
    ran = await asyncio.gather(*(reaper_tick(ctx) for ctx in contexts))
    assert sorted(ran) == [False, False, False, True]
    slot = interval_slot(scheduled, relay.settings.reap_interval_s)
    winner = contexts[ran.index(True)]["worker_id"]
    assert await redis.get(keys.dispatch(JOB, str(slot.index))) == f"{winner} done"
    lost = [e for e in await relay.activity.list(limit=50) if e.title == "Heartbeat lost"]
    assert [e.agent_id for e in lost] == ["gone"]
    ttl = await redis.pttl(keys.dispatch(JOB, str(slot.index)))
    assert 0 < ttl <= 60_000


async def test_a_tick_picked_up_too_late_is_a_misfire(relay: Relay, redis: Redis) -> None:
    ctx = {"relay": relay, "worker_id": "w1", "score": now_ms() - 60_000}
    assert await reaper_tick(ctx) is False
    assert await relay.maintenance.reaper() is None


def test_pause_hook_is_off_by_default() -> None:
    from relay_model import reaper

    assert "AGENT_RELAY_TEST_REAP_BATCH_PAUSE_S" not in os.environ
    assert reaper._TEST_BATCH_PAUSE_S == 0

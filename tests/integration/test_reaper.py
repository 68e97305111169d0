"""The reaper's transitions on a real Redis: agents stale → offline, expired claims, compare-and-set races."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

from redis.asyncio import Redis

from relay_model import keys
from relay_model.agents.agents import RegisterAgentInput, SessionGuard
from relay_model.clock import now_ms
from relay_model.messages.messages import SendMessageInput
from relay_model.relay import Relay, reap_once
from tests.timeshift import backdate_agent, backdate_claim

STALE_MS = 60_000
OFFLINE_MS = 300_000


async def bus_events(redis: Redis, type_: str, subject: str | None = None) -> list[dict[str, Any]]:
    entries = await redis.xrange(keys.events(keys.BUS))
    return [
        json.loads(fields["d"])
        for _, fields in entries
        if fields["t"] == type_ and (subject is None or fields["j"] == subject)
    ]


async def statuses_emitted(redis: Redis, agent_id: str) -> list[str]:
    return [e["agent"]["status"] for e in await bus_events(redis, "agent.status", agent_id)]


async def register(relay: Relay, *ids: str) -> None:
    for agent_id in ids:
        await relay.agents.register(RegisterAgentInput(id=agent_id))


async def test_silent_agent_goes_stale_then_offline_with_the_seed_activity(relay: Relay, redis: Redis) -> None:
    await register(relay, "a", "b")
    t0 = now_ms()
    await backdate_agent(redis, "a", t0 - STALE_MS - 1)

    report = await reap_once(relay, now=t0, audit=False)
    assert report.stale_agent_ids == ["a"] and report.reaped_agent_ids == []
    assert (await relay.agents.require("a")).status == "stale"
    assert (await relay.agents.require("b")).status == "online"
    assert await statuses_emitted(redis, "a") == ["stale"]
    assert await relay.activity.list(limit=10, agent_id="a") == []

    await backdate_agent(redis, "a", t0 - OFFLINE_MS - 1)
    report = await reap_once(relay, now=t0, audit=False)
    assert report.reaped_agent_ids == ["a"] and report.stale_agent_ids == []
    agent = await relay.agents.require("a")
    assert agent.status == "offline"
    assert await statuses_emitted(redis, "a") == ["stale", "offline"]
    (entry,) = await relay.activity.list(limit=10, agent_id="a")
    assert (entry.kind, entry.title, entry.body, entry.meta, entry.icon, entry.view, entry.agent_id) == (
        "state",
        "Heartbeat lost",
        "Agent marked offline",
        "a",
        "ti-heart-off",
        "chat",
        "a",
    )
    assert entry.client_id == f"server-agent-a-heartbeat-lost-{t0}"
    assert [e["activity"]["id"] for e in await bus_events(redis, "activity.created", "a")] == [entry.id]
    # Offline agents leave both deadline indexes; the built-ins are never tracked.
    assert await redis.zscore(keys.agents_live(), "a") is None
    assert await redis.zscore(keys.agents_stale(), "a") is None
    assert await redis.smembers(keys.agents_by("status", "offline")) == {"a"}

    # Nothing left to do: a second pass changes nothing.
    assert not (await reap_once(relay, now=t0, audit=False)).touched()
    # The built-ins are never reaped, however long they stay silent.
    far = await reap_once(relay, now=t0 + OFFLINE_MS * 10, audit=False)
    assert far.reaped_agent_ids == ["b"]
    assert (await relay.agents.require("user")).status == "online"


async def test_agent_past_both_thresholds_goes_offline_in_one_pass(relay: Relay, redis: Redis) -> None:
    await register(relay, "a")
    t0 = now_ms()
    await backdate_agent(redis, "a", t0 - OFFLINE_MS - 1)
    report = await reap_once(relay, now=t0, audit=False)
    assert (report.stale_agent_ids, report.reaped_agent_ids) == (["a"], ["a"])
    assert await statuses_emitted(redis, "a") == ["stale", "offline"]
    assert len(await relay.activity.list(limit=10, agent_id="a")) == 1


async def test_thresholds_are_exclusive_of_a_fresh_heartbeat(relay: Relay, redis: Redis) -> None:
    await register(relay, "a")
    t0 = now_ms()
    await backdate_agent(redis, "a", t0 - STALE_MS + 1)
    assert not (await reap_once(relay, now=t0, audit=False)).touched()
    assert (await relay.agents.require("a")).status == "online"


async def test_heartbeat_before_the_pass_keeps_the_agent_online(relay: Relay, redis: Redis) -> None:
    await register(relay, "a")
    t0 = now_ms()
    await backdate_agent(redis, "a", t0 - OFFLINE_MS - 1)
    await relay.agents.heartbeat("a", SessionGuard())
    report = await reap_once(relay, audit=False)
    assert not report.touched()
    assert (await relay.agents.require("a")).status == "online"
    assert await statuses_emitted(redis, "a") == []


async def test_reaper_rechecks_the_record_not_the_index(relay: Relay, redis: Redis) -> None:
    """The index says due, the record has a newer heartbeat (it landed after the index was read):
    the compare-and-set leaves the agent alone and re-scores the index."""
    await register(relay, "a", "s")
    await relay.agents.set_status("s", "stale", SessionGuard())
    t0 = now_ms()
    await backdate_agent(redis, "a", t0 - OFFLINE_MS - 1, index_only=True)
    await backdate_agent(redis, "s", t0 - OFFLINE_MS - 1, index_only=True)
    report = await reap_once(relay, now=t0, audit=False)
    assert not report.touched()
    assert (await relay.agents.require("a")).status == "online"
    assert (await relay.agents.require("s")).status == "stale"
    seen_a = (await relay.agents.require("a")).last_seen
    assert await redis.zscore(keys.agents_live(), "a") == seen_a
    # An index entry whose agent is gone is dropped.
    await redis.zadd(keys.agents_live(), {"ghost": 1})
    assert not (await reap_once(relay, now=t0, audit=False)).touched()
    assert await redis.zscore(keys.agents_live(), "ghost") is None
    # An agent filed in the wrong index is re-filed by its record, and then reaped as usual.
    await redis.zrem(keys.agents_stale(), "s")
    await redis.zadd(keys.agents_live(), {"s": 1})
    assert not (await reap_once(relay, now=t0, audit=False)).touched()
    assert await redis.zscore(keys.agents_live(), "s") is None
    assert await redis.zscore(keys.agents_stale(), "s") == (await relay.agents.require("s")).last_seen
    assert sorted((await reap_once(relay, now=t0 + OFFLINE_MS * 2, audit=False)).reaped_agent_ids) == ["a", "s"]


async def test_heartbeats_racing_passes_always_end_online(relay: Relay, redis: Redis) -> None:
    ids = [f"r{i}" for i in range(60)]
    await register(relay, *ids)
    t0 = now_ms()
    for agent_id in ids:
        await backdate_agent(redis, agent_id, t0 - OFFLINE_MS - 1)
    small = Relay(redis, dataclasses.replace(relay.settings, reap_batch_size=4))
    beating = ids[::2]
    await asyncio.gather(
        reap_once(small, audit=False),
        *(relay.agents.heartbeat(a, SessionGuard()) for a in beating),
        reap_once(small, audit=False),
    )
    for agent_id in ids:
        card = await relay.agents.require(agent_id)
        if agent_id in beating:
            # Whatever the order, the heartbeat wins: either the agent was never due, or it was
            # marked stale/offline first and the heartbeat revived it.
            assert card.status == "online", agent_id
            emitted = await statuses_emitted(redis, agent_id)
            assert emitted in ([], ["stale", "online"], ["stale", "offline", "online"]), emitted
        else:
            assert card.status == "offline", agent_id
            assert await statuses_emitted(redis, agent_id) == ["stale", "offline"]


async def test_concurrent_passes_act_on_each_expiry_once(relay: Relay, redis: Redis) -> None:
    ids = [f"c{i}" for i in range(150)]
    await register(relay, *ids)
    t0 = now_ms()
    for agent_id in ids:
        await backdate_agent(redis, agent_id, t0 - OFFLINE_MS - 1)
    small = Relay(redis, dataclasses.replace(relay.settings, reap_batch_size=7))
    reports = await asyncio.gather(*(reap_once(small, audit=False) for _ in range(3)))
    reaped = [agent_id for r in reports for agent_id in r.reaped_agent_ids]
    staled = [agent_id for r in reports for agent_id in r.stale_agent_ids]
    assert sorted(reaped) == sorted(ids) and sorted(staled) == sorted(ids)
    lost = await relay.activity.list(limit=500, kind="state")
    assert sorted(e.agent_id for e in lost if e.title == "Heartbeat lost") == sorted(ids)


async def send_claimable(relay: Relay) -> int:
    await register(relay, "worker")
    message, _ = await relay.messages.send(SendMessageInput(from_="user", to="worker", claimable=True, body="job"))
    return message.id


async def test_expired_claim_is_released_with_an_event(relay: Relay, redis: Redis) -> None:
    mid = await send_claimable(relay)
    claimed, _ = await relay.messages.claim(mid, "worker", 1000)
    assert claimed.claim_expires_at is not None
    not_yet = await reap_once(relay, now=claimed.claim_expires_at - 1, audit=False)
    assert not_yet.released_message_ids == []
    report = await reap_once(relay, now=claimed.claim_expires_at, audit=False)
    assert report.released_message_ids == [mid]
    message = await relay.messages.get(mid)
    assert message is not None and message.claimed_by is None and message.claim_expires_at is None
    (event,) = await bus_events(redis, "message.claim_released", str(mid))
    assert (event["reason"], event["previousHolder"], event["message"]["claimedBy"]) == ("expired", "worker", None)
    assert await redis.zscore(keys.message_claims(), str(mid)) is None
    # Another agent may claim it now.
    await register(relay, "other")
    assert (await relay.messages.claim(mid, "other", 1000))[0].claimed_by == "other"


async def test_claim_renewed_just_before_expiry_is_kept(relay: Relay, redis: Redis) -> None:
    mid = await send_claimable(relay)
    first, _ = await relay.messages.claim(mid, "worker", 1000)
    assert first.claim_expires_at is not None
    # The holder renews; a pass that read the old deadline (index moved back) must not release it.
    renewed, _ = await relay.messages.claim(mid, "worker", 60_000)
    await backdate_claim(redis, mid, first.claim_expires_at, index_only=True)
    report = await reap_once(relay, now=first.claim_expires_at + 1, audit=False)
    assert report.released_message_ids == []
    message = await relay.messages.get(mid)
    assert message is not None and message.claimed_by == "worker"
    assert await redis.zscore(keys.message_claims(), str(mid)) == renewed.claim_expires_at
    assert await bus_events(redis, "message.claim_released") == []
    # A claim released by hand leaves no index entry behind to act on.
    await relay.messages.release(mid, "worker")
    await redis.zadd(keys.message_claims(), {str(mid): 1})
    assert (await reap_once(relay, audit=False)).released_message_ids == []
    assert len(await bus_events(redis, "message.claim_released")) == 1

"""Real `relay worker` processes on one real Redis: every expiry acted on once, every slot run once,
SIGKILL mid-pass leaves whole transitions only, SIGTERM lets the pass finish.

Agents are back-dated past the thresholds (tests/timeshift.py) instead of waiting for them to age.
A slow pass comes from the test-only hook AGENT_RELAY_TEST_REAP_BATCH_PAUSE_S (a sleep between
batches, see relay_model/reaper.py) with a batch size of 1, so a worker can be killed between two
agents' transitions deterministically.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections import Counter
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from relay_model import keys
from relay_model.agents.agents import RegisterAgentInput
from relay_model.clock import now_ms
from relay_model.messages.messages import SendMessageInput
from relay_model.relay import Relay
from relay_worker.jobs.reaper import JOB
from tests.conftest import ADMIN_TOKEN
from tests.procs import Worker, passes, relay_env, worker_id, workers
from tests.timeshift import backdate_agent, backdate_claim
from tests.waiting import wait_until_async

pytestmark = pytest.mark.multinode

FAST = {"AGENT_RELAY_STALE_AFTER_S": "1", "AGENT_RELAY_OFFLINE_AFTER_S": "2"}
SLOW_PASS = {"AGENT_RELAY_TEST_REAP_BATCH_PAUSE_S": "0.15", "AGENT_RELAY_REAP_BATCH": "1"}


async def due_agents(relay: Relay, redis: Redis, count: int, prefix: str = "a") -> list[str]:
    ids = [f"{prefix}{i}" for i in range(count)]
    old = now_ms() - 60_000
    for agent_id in ids:
        await relay.agents.register(RegisterAgentInput(id=agent_id))
        await backdate_agent(redis, agent_id, old)
    return ids


async def statuses(redis: Redis, ids: list[str]) -> dict[str, str]:
    pipe = redis.pipeline(transaction=False)
    for agent_id in ids:
        pipe.hget(keys.agent(agent_id), "status")
    return dict(zip(ids, await pipe.execute(), strict=True))


async def status_events(redis: Redis) -> dict[str, list[str]]:
    emitted: dict[str, list[str]] = {}
    for _, fields in await redis.xrange(keys.events(keys.BUS)):
        if fields["t"] == "agent.status":
            emitted.setdefault(fields["j"], []).append(json.loads(fields["d"])["agent"]["status"])
    return emitted


async def heartbeat_lost(relay: Relay) -> Counter[str]:
    return Counter(e.agent_id for e in await relay.activity.list(limit=500) if e.title == "Heartbeat lost")


async def assert_consistent(redis: Redis, ids: list[str]) -> None:
    """Every agent's record, status index and deadline indexes agree (no half-applied transition)."""
    for agent_id, status in (await statuses(redis, ids)).items():
        for candidate in ("online", "stale", "offline"):
            member = await redis.sismember(keys.agents_by("status", candidate), agent_id)
            assert bool(member) == (status == candidate), (agent_id, status, candidate)
        live = await redis.zscore(keys.agents_live(), agent_id)
        stale = await redis.zscore(keys.agents_stale(), agent_id)
        assert (live is not None, stale is not None) == (status == "online", status == "stale"), agent_id


async def test_two_workers_act_on_each_expiry_exactly_once(
    relay: Relay,
    redis: Redis,
    redis_url: str,
    tmp_path: Path,
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    ids = await due_agents(relay, redis, 30)
    message_ids = []
    for _ in range(10):
        sent, _ = await relay.messages.send(SendMessageInput(from_="user", to="a0", claimable=True))
        await relay.messages.claim(sent.id, "a0", 60_000)
        await backdate_claim(redis, sent.id, now_ms() - 1)
        message_ids.append(sent.id)

    env = relay_env(redis_url, ADMIN_TOKEN, AGENT_RELAY_REAP_INTERVAL_S="0.4", **FAST)
    with workers(2, env, tmp_path) as procs:

        async def all_done() -> bool:
            done = set((await statuses(redis, ids)).values()) == {"offline"}
            return done and await redis.zcard(keys.message_claims()) == 0

        await wait_until_async(all_done, "every expiry handled", logs=procs)
        # Let several more slots pass with both workers up, then check they are up.
        await wait_until_async(lambda: _slots_after(procs, 6), "at least seven passes", logs=procs)
        health = (await client.get("/api/health")).json()
        assert health["workers"]["alive"] == 2
        assert health["reaper"]["workerId"] in {worker_id(p) for p in procs}

    runs = passes(*procs)
    slots = [p["slot"] for p in runs]
    assert len(slots) == len(set(slots)), Counter(slots).most_common(3)
    # Each slot's dispatch key names the worker that ran it, and no slot was claimed without a pass.
    for run in runs:
        assert await redis.get(keys.dispatch(JOB, str(run["slot"]))) == f"{run['worker']} done"
    claimed = {k.rsplit(":", 1)[1] async for k in redis.scan_iter(match=keys.dispatch(JOB, "*"))}
    assert claimed == {str(s) for s in slots}

    # Each expiry acted on exactly once, whichever worker did it.
    assert sum(len(p.get("reapedAgentIds", [])) for p in runs) == 30
    assert sorted(a for p in runs for a in p.get("staleAgentIds", [])) == sorted(ids)
    assert sorted(m for p in runs for m in p.get("releasedMessageIds", [])) == sorted(message_ids)
    emitted = await status_events(redis)
    assert all(emitted[a] == ["stale", "offline"] for a in ids), emitted
    assert await heartbeat_lost(relay) == Counter(ids)
    released = [f["j"] for _, f in await redis.xrange(keys.events(keys.BUS)) if f["t"] == "message.claim_released"]
    assert Counter(released) == Counter(str(m) for m in message_ids)
    # Idle passes wrote no "Maintenance reaper run" entries; passes that did something wrote one each.
    audited = [e for e in await relay.activity.list(limit=500) if e.title == "Maintenance reaper run"]
    seed_touching = [p for p in runs if p.get("reapedAgentIds") or p.get("releasedMessageIds")]
    assert len(audited) == len(seed_touching) >= 1


async def _slots_after(procs: list[Worker], count: int) -> bool:
    return len(passes(*procs)) >= count + 1


async def test_sigkill_mid_pass_leaves_whole_transitions_and_another_worker_finishes(
    relay: Relay, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    ids = await due_agents(relay, redis, 6)
    base = relay_env(redis_url, ADMIN_TOKEN, AGENT_RELAY_REAP_INTERVAL_S="2", **FAST)
    doomed = Worker({**base, **SLOW_PASS}, tmp_path / "doomed.log")
    try:

        async def some_stale() -> bool:
            return list((await statuses(redis, ids)).values()).count("stale") >= 2

        await wait_until_async(some_stale, "the slow pass to be under way", logs=[doomed], timeout=15)
        doomed.kill()
    finally:
        doomed.stop()

    # Killed between two agents: some stale, the rest untouched, nobody offline yet, no half states.
    now = await statuses(redis, ids)
    assert 2 <= list(now.values()).count("stale") < len(ids) and "offline" not in now.values(), now
    await assert_consistent(redis, ids)
    emitted = await status_events(redis)
    assert all(emitted.get(a, []) == (["stale"] if now[a] == "stale" else []) for a in ids), emitted
    assert await heartbeat_lost(relay) == Counter()
    # Its slot stays claimed but unfinished: not re-run; the next slot does the rest.
    dispatch = [await redis.get(k) async for k in redis.scan_iter(match=keys.dispatch(JOB, "*"))]
    assert dispatch and all(value == worker_id(doomed) for value in dispatch), dispatch

    with workers(1, base, tmp_path) as (survivor,):

        async def all_offline() -> bool:
            return set((await statuses(redis, ids)).values()) == {"offline"}

        await wait_until_async(all_offline, "the survivor to finish", logs=[survivor], timeout=15)

    await assert_consistent(redis, ids)
    emitted = await status_events(redis)
    assert all(emitted[a] == ["stale", "offline"] for a in ids), emitted
    assert await heartbeat_lost(relay) == Counter(ids)


async def test_sigterm_mid_pass_lets_the_pass_finish(
    relay: Relay, redis: Redis, redis_url: str, tmp_path: Path
) -> None:
    ids = await due_agents(relay, redis, 6)
    env = relay_env(redis_url, ADMIN_TOKEN, AGENT_RELAY_REAP_INTERVAL_S="2", **FAST, **SLOW_PASS)
    proc = Worker(env, tmp_path / "worker.log")
    try:

        async def under_way() -> bool:
            return "stale" in (await statuses(redis, ids)).values()

        await wait_until_async(under_way, "the slow pass to be under way", logs=[proc], timeout=15)
        proc.popen.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(proc.popen.wait, 15)
    finally:
        proc.stop()
    assert code == 0, proc.log()
    # The pass that was running when the signal came ran to its end.
    assert set((await statuses(redis, ids)).values()) == {"offline"}, proc.log()
    emitted = await status_events(redis)
    assert all(emitted[a] == ["stale", "offline"] for a in ids), emitted
    assert await heartbeat_lost(relay) == Counter(ids)
    assert sum(len(p.get("reapedAgentIds", [])) for p in passes(proc)) == len(ids)
    assert all(
        v.endswith(" done") for v in [await redis.get(k) async for k in redis.scan_iter(match=keys.dispatch(JOB, "*"))]
    )
    assert await redis.zcard(keys.workers()) == 0  # it said goodbye

"""Retention on a real Redis: the reaper deletes messages, activity entries and final tasks past their
age or count cap, with every index, inbox, claim and idempotency entry, and nothing else."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import httpx
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from relay_api.app import create_app
from relay_api.embedded import EmbeddedRedis
from relay_model import keys
from relay_model.activity import ActivityInput
from relay_model.agents.agents import RegisterAgentInput
from relay_model.clock import now_ms
from relay_model.messages.messages import SendMessageInput
from relay_model.relay import Relay, reap_once
from relay_model.settings import Settings
from relay_model.tasks.tasks import NewTask
from tests.conftest import ADMIN_TOKEN, AUTH, DataTier
from tests.procs import api_nodes, workers

Client = AsyncTestClient  # type: ignore[type-arg]


def capped(relay: Relay, **caps: Any) -> Relay:
    """The same stores with other retention settings (retention only reads settings)."""
    return Relay(relay.redis, dataclasses.replace(relay.settings, **caps))


async def send(relay: Relay, **body: Any) -> int:
    message, _ = await relay.messages.send(SendMessageInput(from_="boss", **body))
    return message.id


async def pause() -> int:
    """A millisecond boundary between two batches of writes: everything before it is older."""
    await asyncio.sleep(0.005)
    boundary = now_ms()
    await asyncio.sleep(0.005)
    return boundary


async def ids_of(client: Client, path: str, **params: Any) -> list[int]:
    r = await client.get(path, params=params)
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()]


async def test_old_messages_leave_every_index_inbox_claim_and_idempotency_key(
    relay: Relay, redis: Redis, client: Client
) -> None:
    for agent, tags in (("a", []), ("b", ["t"]), ("c", ["t"]), ("d", ["t"])):
        await relay.agents.register(RegisterAgentInput(id=agent, tags=tags))
    old = [
        await send(relay, to="a", body="direct", idempotency_key="once"),
        await send(relay, to="tag:t", body="fan-out"),
        await send(relay, to="broadcast", body="all", claimable=True),
        await send(relay, to="b", kind="channel.event", channel="alerts", body="on a channel"),
    ]
    await relay.messages.claim(old[2], "b", 60_000)
    await relay.messages.set_cursor("a", old[0])
    # d was in the tag when the fan-out went out, and leaves it before retention runs.
    await relay.agents.set_tags("d", [])
    boundary = await pause()
    new = [
        await send(relay, to="a", body="direct 2"),
        await send(relay, to="tag:t", body="fan-out 2"),
        await send(relay, to="broadcast", body="all 2"),
        await send(relay, to="b", kind="channel.event", channel="alerts", body="on a channel 2"),
    ]

    report = await reap_once(capped(relay, message_retention_s=10), now=boundary + 10_000, audit=False)
    assert report.trimmed_message_ids == old
    for message_id in old:
        r = await client.get(f"/api/messages/{message_id}")
        assert (r.status_code, r.json()) == (404, {"error": "message not found"})
    # History, every filter.
    assert await ids_of(client, "/api/messages") == new
    assert await ids_of(client, "/api/messages", **{"from": "boss"}) == new
    assert await ids_of(client, "/api/messages", to="tag:t") == [new[1]]
    assert await ids_of(client, "/api/messages", to="broadcast") == [new[2]]
    assert await ids_of(client, "/api/messages", kind="channel.event") == [new[3]]
    assert await ids_of(client, "/api/messages", channel="alerts") == [new[3]]
    assert await ids_of(client, "/api/messages", since=0, limit=2) == new[:2]
    # Inboxes: direct, fan-out, broadcast; d's stale fan-out entry is hidden and then dropped.
    assert await ids_of(client, "/api/messages", **{"for": "a"}) == [new[0], new[2]]
    assert await ids_of(client, "/api/messages", **{"for": "b"}) == [new[1], new[2], new[3]]
    assert await ids_of(client, "/api/messages", **{"for": "c"}) == [new[1], new[2]]
    assert await redis.zrange(keys.inbox("d"), 0, -1) == [str(old[1])]
    assert await ids_of(client, "/api/messages", **{"for": "d"}, limit=1) == [new[2]]
    assert await redis.zcard(keys.inbox("d")) == 0
    # The read cursor still names its (deleted) message and still works as a position.
    r = await client.get("/api/messages/cursor", params={"agentId": "a"})
    assert r.json() == {"agentId": "a", "cursor": old[0], "latestId": new[-1]}
    assert await ids_of(client, "/api/messages", **{"for": "a", "since": old[0]}) == [new[0], new[2]]
    # Nothing of the old messages is left in Redis.
    assert await redis.get(keys.messages_floor()) == str(old[-1])
    for message_id in old:
        assert await redis.exists(keys.message(message_id)) == 0
    assert await redis.zscore(keys.message_claims(), str(old[2])) is None
    assert await redis.zrange(keys.broadcasts(), 0, -1) == [str(new[2])]
    assert await redis.exists(keys.idempotency("once")) == 0
    # The key is free again: a new message takes it.
    r = await client.post("/api/messages", json={"from": "boss", "to": "a", "idempotencyKey": "once"})
    assert r.status_code == 201
    # A second pass has nothing left to do.
    assert (await reap_once(capped(relay, message_retention_s=10), now=boundary + 10_000)).trimmed_message_ids == []


async def test_the_count_cap_keeps_the_newest_messages_over_several_batches(relay: Relay, client: Client) -> None:
    sent = [await send(relay, to="x", body=str(i)) for i in range(7)]
    report = await reap_once(capped(relay, message_max=3, reap_batch_size=2), audit=False)
    assert report.trimmed_message_ids == sent[:4]
    assert await ids_of(client, "/api/messages", **{"for": "x"}) == sent[4:]
    assert await ids_of(client, "/api/messages", to="x") == sent[4:]


async def test_without_caps_nothing_is_deleted(relay: Relay, redis: Redis) -> None:
    sent = [await send(relay, to="x") for _ in range(3)]
    caps = {"message_max": 0, "message_retention_s": 0, "activity_max": 0, "task_max": 0}
    report = await reap_once(capped(relay, **caps), now=now_ms() + 10**12, audit=False)
    assert report.trimmed_message_ids == report.trimmed_activity_ids == report.trimmed_task_ids == []
    assert await redis.zrange(keys.messages_all(), 0, -1) == [str(i) for i in sent]


def test_defaults_are_generous_counts_and_no_age_limit() -> None:
    d = Settings()
    assert (d.message_max, d.activity_max, d.task_max) == (1_000_000, 1_000_000, 100_000)
    assert d.message_retention_s == d.activity_retention_s == d.task_retention_s == 0


async def test_old_activity_leaves_the_feed_and_its_indexes(relay: Relay, redis: Redis, client: Client) -> None:
    async def add(kind: str, agent: str | None) -> int:
        entry = await relay.activity.add(ActivityInput(kind=kind, title="t", agent_id=agent))  # type: ignore[arg-type]
        assert entry is not None
        return entry.id

    old = [await add("message", "a"), await add("task", "b"), await add("state", None)]
    boundary = await pause()
    new = [await add("message", "a"), await add("task", None)]
    report = await reap_once(capped(relay, activity_retention_s=5), now=boundary + 5_000, audit=False)
    assert report.trimmed_activity_ids == old
    assert await ids_of(client, "/api/activity") == new[::-1]
    assert await ids_of(client, "/api/activity", kind="task") == [new[1]]
    assert await ids_of(client, "/api/activity", agentId="a") == [new[0]]
    assert await redis.exists(keys.activity_by("agent", "b"), keys.activity_by("kind", "state")) == 0
    for entry_id in old:
        assert await redis.exists(keys.activity(entry_id)) == 0
    # And the count cap.
    report = await reap_once(capped(relay, activity_max=1), audit=False)
    assert report.trimmed_activity_ids == [new[0]]
    assert await ids_of(client, "/api/activity") == [new[1]]


async def test_final_tasks_are_deleted_with_their_history_and_open_ones_are_kept(
    relay: Relay, redis: Redis, client: Client
) -> None:
    async def task(title: str, **fields: Any) -> int:
        created, _ = await relay.tasks.create(NewTask(title=title, **fields))
        return created.id

    done = await task("done", target="a", channel="ops", source="ci", external_id="BUILD-1")
    await relay.tasks.claim(done, "a", 60_000)
    await relay.tasks.set_status(done, "done", "a", None)
    failed = await task("failed")
    await relay.tasks.set_status(failed, "failed", None, None)
    reopened = await task("reopened")
    await relay.tasks.set_status(reopened, "canceled", None, None)
    await relay.tasks.set_status(reopened, "open", None, None)
    still_open = await task("open", target="a")
    boundary = await pause()
    late = await task("late")
    await relay.tasks.set_status(late, "done", None, None)

    report = await reap_once(capped(relay, task_retention_s=60), now=boundary + 60_000, audit=False)
    assert report.trimmed_task_ids == [done, failed]
    for task_id in (done, failed):
        assert (await client.get(f"/api/tasks/{task_id}")).status_code == 404
        assert (await client.get(f"/api/tasks/{task_id}/events")).status_code == 404
        assert await redis.exists(keys.task(task_id), keys.task_history(task_id)) == 0
    assert sorted(await ids_of(client, "/api/tasks")) == sorted([reopened, still_open, late])
    assert await ids_of(client, "/api/tasks", target="a") == [still_open]
    assert await ids_of(client, "/api/tasks", status="done") == [late]
    for index in (("channel", "ops"), ("source", "ci"), ("claimedBy", "a"), ("status", "failed")):
        assert await redis.exists(keys.tasks_by(*index)) == 0, index
    assert await redis.zrange(keys.tasks_final(), 0, -1) == [str(late)]
    # The integration's externalId names a new task now.
    assert await redis.exists(keys.task_external("ci", "BUILD-1")) == 0
    again, created = await relay.tasks.create(NewTask(title="again", source="ci", external_id="BUILD-1"))
    assert created and again.id not in (done, failed)
    # Open work is kept whatever the cap: only final tasks count.
    report = await reap_once(capped(relay, task_max=0, task_retention_s=0.001), now=now_ms() + 10**9, audit=False)
    assert report.trimmed_task_ids == [late]
    assert sorted(await ids_of(client, "/api/tasks")) == sorted([reopened, still_open, again.id])


async def test_a_worker_process_applies_the_caps(tier: DataTier, tier_redis: Redis, tmp_path: Path) -> None:
    env = tier.env(ADMIN_TOKEN, AGENT_RELAY_MESSAGE_MAX="2", AGENT_RELAY_REAP_INTERVAL_S="0.2")
    with api_nodes(1, env, tmp_path) as (node,), workers(1, env, tmp_path):
        async with httpx.AsyncClient(headers=AUTH, timeout=10) as http:
            sent = [
                (await http.post(node.url + "/api/messages", json={"from": "a", "to": "b", "body": str(i)})).json()["id"]
                for i in range(5)
            ]
            for _ in range(200):
                inbox = [m["id"] for m in (await http.get(node.url + "/api/messages", params={"for": "b"})).json()]
                if inbox == sent[3:]:
                    break
                await asyncio.sleep(0.1)
            assert inbox == sent[3:]
            assert await tier_redis.zcard(keys.messages_all()) == 2
            assert await tier_redis.get(keys.messages_floor()) == str(sent[2])


async def test_at_maxmemory_writes_are_503_reads_go_on_and_retention_makes_room(tmp_path: Path) -> None:
    """With `maxmemory` and `noeviction` (the policy the README asks for) a full Redis refuses writes:
    a send is 503 and changes nothing, reads still answer, and the reaper's deletions still run
    (a script whose first write is a delete may go on writing), so a cap brings sends back."""
    with EmbeddedRedis(tmp_path / "redis", persistent=False) as server:
        redis = Redis.from_url(server.url, decode_responses=True)
        settings = Settings(redis_url=server.url, admin_token=ADMIN_TOKEN)
        try:
            async with AsyncTestClient(create_app(settings)) as c:
                c.headers.update(AUTH)
                for i in range(300):
                    r = await c.post("/api/messages", json={"from": "a", "to": "b", "body": "x" * 2000, "meta": {"i": i}})
                    assert r.status_code == 201
                used = int((await redis.info("memory"))["used_memory"])
                await redis.config_set("maxmemory-policy", "noeviction")
                await redis.config_set("maxmemory", used - 200_000)  # firmly over it
                r = await c.post("/api/messages", json={"from": "a", "to": "b", "body": "one more"})
                assert (r.status_code, r.json()) == (503, {"error": "storage unavailable"})
                assert await redis.zcard(keys.messages_all()) == 300
                assert len((await c.get("/api/messages", params={"for": "b", "limit": 500})).json()) == 300
                relay = Relay(redis, dataclasses.replace(settings, message_max=10))
                report = await reap_once(relay, audit=False)
                assert len(report.trimmed_message_ids) == 290
                assert (await c.post("/api/messages", json={"from": "a", "to": "b", "body": "room again"})).status_code == 201
        finally:
            await redis.aclose()

"""Automations over HTTP against a real Redis: validation texts, CRUD, manual runs, the schedule pass."""

from __future__ import annotations

import msgspec
from litestar.testing import AsyncTestClient

from relay_model import keys
from relay_model.flows.automation_dispatch import dispatch_due, dispatch_events, matches
from relay_model.relay import Relay

MESSAGE_ACTION = {"type": "message", "message": {"from": "system", "to": "ops", "body": "nightly check"}}
EVERY_MINUTE = {"type": "schedule", "cron": "* * * * *"}
ON_TASK = {"type": "event", "event": "task.created"}


async def _create(client: AsyncTestClient, **body: object) -> dict:  # type: ignore[type-arg]
    payload = {"name": "a", "trigger": {"type": "schedule", "cron": "0 2 * * *"}, "action": MESSAGE_ACTION, **body}
    r = await client.post("/api/automations", json=payload)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_validation_texts(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    cases = [
        ({}, "name required"),
        ({"name": "x"}, "trigger required"),
        (
            {"name": "x", "trigger": {"type": "cron"}, "action": MESSAGE_ACTION},
            "trigger.type must be one of: schedule, event",
        ),
        ({"name": "x", "trigger": {"type": "schedule"}, "action": MESSAGE_ACTION}, "trigger.cron required"),
        (
            {"name": "x", "trigger": {"type": "schedule", "cron": "* * *"}, "action": MESSAGE_ACTION},
            "trigger.cron must have 5 fields, or 6 with seconds first",
        ),
        (
            {"name": "x", "trigger": {"type": "schedule", "cron": "61 * * * *"}, "action": MESSAGE_ACTION},
            "trigger.cron is not a valid cron expression: 61 * * * *",
        ),
        (
            {"name": "x", "trigger": {**EVERY_MINUTE, "timezone": "Mars/Olympus"}, "action": MESSAGE_ACTION},
            "trigger.timezone is not a known time zone: Mars/Olympus",
        ),
        ({"name": "x", "trigger": {"type": "event"}, "action": MESSAGE_ACTION}, "trigger.event required"),
        (
            {"name": "x", "trigger": {"type": "event", "event": "automation.run"}, "action": MESSAGE_ACTION},
            "trigger.event cannot be an automation event",
        ),
        (
            {"name": "x", "trigger": {"type": "event", "event": "task.created"}, "action": {"type": "email"}},
            "action.type must be one of: message, task, command, recipe",
        ),
        (
            {"name": "x", "trigger": {"type": "event", "event": "task.created"}, "action": {"type": "message"}},
            "action.message must be an object",
        ),
        (
            {"name": "x", "trigger": ON_TASK, "action": {"type": "message", "message": {}}},
            "action.message.from required",
        ),
        (
            {"name": "x", "trigger": ON_TASK, "action": {"type": "task", "task": {"title": ""}}},
            "action.task.title must not be empty",
        ),
        (
            {"name": "x", "enabled": "yes", "trigger": EVERY_MINUTE, "action": MESSAGE_ACTION},
            "enabled must be a boolean",
        ),
    ]
    for body, text in cases:
        r = await client.post("/api/automations", json=body)
        assert (r.status_code, r.json()) == (400, {"error": text}), body
    assert (await client.get("/api/automations")).json() == []


async def test_crud_and_schedule_index(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    trigger = {"type": "schedule", "cron": "*/5 * * * * *", "timezone": "Europe/Berlin"}
    auto = await _create(client, trigger=trigger)
    assert auto["enabled"] is True and auto["trigger"] == trigger
    assert auto["nextRunAt"] % 5000 == 0
    assert await relay.redis.zscore(keys.automations_due(), auto["id"]) == auto["nextRunAt"]
    assert (await client.get(f"/api/automations/{auto['id']}")).json() == auto
    r = await client.patch(f"/api/automations/{auto['id']}", json={"name": "renamed"})
    assert r.json()["name"] == "renamed" and r.json()["nextRunAt"] == auto["nextRunAt"]
    r = await client.patch(f"/api/automations/{auto['id']}", json={"enabled": False})
    assert r.json()["enabled"] is False and r.json()["nextRunAt"] is None
    assert await relay.redis.zscore(keys.automations_due(), auto["id"]) is None
    r = await client.patch(f"/api/automations/{auto['id']}", json={"trigger": {"type": "nope"}})
    assert r.json() == {"error": "trigger.type must be one of: schedule, event"}
    for method in ("get", "patch", "delete"):
        r = await getattr(client, method)("/api/automations/missing", **({"json": {}} if method == "patch" else {}))
        assert (r.status_code, r.json()) == (404, {"error": "automation not found"})
    r = await client.post("/api/automations/missing/run")
    assert (r.status_code, r.json()) == (404, {"error": "automation not found"})
    assert (await client.delete(f"/api/automations/{auto['id']}")).json() == {"ok": True}
    assert (await client.get("/api/automations")).json() == []
    types = [e.type for e in await relay.events.replay(_cursor_zero(), limit=100) if e.type.startswith("automation.")]
    assert types == ["automation.created", "automation.updated", "automation.updated", "automation.deleted"]


def _cursor_zero():  # type: ignore[no-untyped-def]
    from relay_model.events import Cursor

    return Cursor({g: "0-0" for g in keys.EVENT_GROUPS})


async def test_manual_run_sends_message_and_records_run(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    await client.post("/api/agents", json={"id": "ops"})
    auto = await _create(client, enabled=False)
    r = await client.post(f"/api/automations/{auto['id']}/run")
    assert r.status_code == 202
    body = r.json()
    assert body["run"]["status"] == "succeeded" and body["run"]["trigger"] == "manual"
    assert body["message"]["to"] == "ops" and body["message"]["body"] == "nightly check"
    assert body["run"]["created"]["messageId"] == body["message"]["id"]
    assert "command" not in body and "task" not in body
    assert body["automation"]["lastRunStatus"] == "succeeded"
    runs = (await client.get(f"/api/automation-runs?automationId={auto['id']}")).json()
    assert [x["id"] for x in runs] == [body["run"]["id"]]
    # A failing action is recorded as a failed run with the store's text.
    await client.patch("/api/agents/ops/status", json={"status": "offline"})
    body = (await client.post(f"/api/automations/{auto['id']}/run")).json()
    assert body["run"]["status"] == "failed" and body["run"]["error"] == 'agent "ops" is offline'
    runs = (await client.get("/api/automation-runs?status=failed")).json()
    assert [x["id"] for x in runs] == [body["run"]["id"]]
    assert len((await client.get("/api/automation-runs?limit=1")).json()) == 1
    for bad in ("0", "501", "x"):
        r = await client.get(f"/api/automation-runs?limit={bad}")
        assert (r.status_code, r.json()) == (400, {"error": "limit must be an integer between 1 and 500"})
    # An unknown status filters like any other, as in the seed: nothing matches.
    r = await client.get("/api/automation-runs?status=odd")
    assert (r.status_code, r.json()) == (200, [])


async def test_due_slot_fires_once_and_misfire_catches_up_once(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    await client.post("/api/agents", json={"id": "ops"})
    auto = await _create(client, trigger={"type": "schedule", "cron": "* * * * * *"})
    slot = auto["nextRunAt"]
    # Two passes at the same instant (two workers): the slot runs once.
    first = await dispatch_due(relay, grace_ms=10_000, now=slot)
    second = await dispatch_due(relay, grace_ms=10_000, now=slot)
    assert [r.scheduled_for for r in first] == [slot] and second == []
    assert await relay.redis.zscore(keys.automations_due(), auto["id"]) == slot + 1000
    # A slot a little late (within grace) still fires itself, not a later one.
    late = await dispatch_due(relay, grace_ms=10_000, now=slot + 3000)
    assert [(r.scheduled_for, r.catch_up) for r in late] == [(slot + 1000, False)]
    # After an outage of an hour: one catch-up run for the latest slot, then the next future slot.
    outage = slot + 3_600_000
    caught = await dispatch_due(relay, grace_ms=10_000, now=outage)
    assert [(r.scheduled_for, r.catch_up) for r in caught] == [(outage, True)]
    assert await relay.redis.zscore(keys.automations_due(), auto["id"]) == outage + 1000
    # Disabled: nothing fires any more, on any node.
    await client.patch(f"/api/automations/{auto['id']}", json={"enabled": False})
    assert await dispatch_due(relay, grace_ms=10_000, now=outage + 60_000) == []
    runs = (await client.get(f"/api/automation-runs?automationId={auto['id']}")).json()
    assert [r["scheduledFor"] for r in runs] == [outage, slot + 1000, slot]
    assert all(r["status"] == "succeeded" and r["trigger"] == "schedule" for r in runs)


async def test_event_trigger_with_filter_runs_once_per_event(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    await client.post("/api/agents", json={"id": "ops"})
    await client.post("/api/agents", json={"id": "pager"})
    auto = await _create(
        client,
        trigger={"type": "event", "event": "message.created", "filter": {"to": "ops", "kind": ["chat", "task"]}},
        action={"type": "message", "message": {"from": "system", "to": "pager", "body": "ops got mail"}},
    )
    await client.post("/api/messages", json={"from": "user", "to": "ops", "body": "hello"})
    await client.post("/api/messages", json={"from": "user", "to": "pager", "body": "not for ops"})
    fired = await dispatch_events(relay, consumer="w1")
    assert len(fired) == 1 and fired[0].event_type == "message.created"
    # The automation's own message (to pager) does not match; nothing is left to run on another worker.
    assert await dispatch_events(relay, consumer="w2") == []
    inbox = (await client.get("/api/messages?for=pager")).json()
    assert [m["body"] for m in inbox] == ["not for ops", "ops got mail"]
    runs = (await client.get(f"/api/automation-runs?automationId={auto['id']}")).json()
    assert len(runs) == 1 and runs[0]["trigger"] == "event" and runs[0]["eventId"].startswith("bus:")


def test_filter_matching_rule() -> None:
    data = {"task": {"severity": "critical", "tags": ["db"], "metadata": {"repo": "relay"}}}
    assert matches({"severity": "critical"}, data)
    assert matches({"task.severity": "critical", "tags": "db"}, data)
    assert matches({"severity": ["warning", "critical"], "metadata.repo": "relay"}, data)
    assert not matches({"severity": "info"}, data)
    assert not matches({"missing": "x"}, data)
    assert matches(None, data) and matches({}, data)


async def test_task_action_and_critical_task_trigger(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    await client.post("/api/agents", json={"id": "oncall"})
    paging = await _create(
        client,
        name="page on critical",
        trigger={"type": "event", "event": "task.created", "filter": {"severity": "critical"}},
        action={"type": "task", "task": {"title": "Investigate incident", "target": "oncall", "severity": "warning"}},
    )
    await client.post("/api/tasks", json={"title": "disk full", "severity": "critical"})
    await client.post("/api/tasks", json={"title": "typo", "severity": "info"})
    fired = await dispatch_events(relay, consumer="w1")
    # The follow-up task is `warning`, so it does not trigger the automation again.
    assert len(fired) == 1 and await dispatch_events(relay, consumer="w1") == []
    runs = (await client.get(f"/api/automation-runs?automationId={paging['id']}")).json()
    task = (await client.get(f"/api/tasks/{runs[0]['created']['taskId']}")).json()
    assert task["title"] == "Investigate incident" and task["target"] == "oncall" and task["source"] == "automation"
    assert task["metadata"]["automationId"] == paging["id"]
    assert [t["title"] for t in (await client.get("/api/tasks")).json()] == [
        "Investigate incident",
        "typo",
        "disk full",
    ]


async def test_reaper_fails_runs_a_dead_worker_left_running(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    from relay_model.automations.automations import ABANDONED_TEXT, new_run
    from relay_model.clock import now_ms
    from relay_model.relay import reap_once

    auto = await relay.automations.require((await _create(client))["id"])
    # A worker records the run as started, then dies before dispatching it.
    run = new_run(auto, "schedule", scheduled_for=auto.next_run_at)
    assert await relay.automations.start_run(auto, run, mode="manual") is not None
    await reap_once(relay, audit=False)  # too young: it may still be dispatching
    assert (await client.get(f"/api/automation-runs?automationId={auto.id}")).json()[0]["status"] == "running"
    await reap_once(relay, now=now_ms() + 6 * 60_000, audit=False)
    (stored,) = (await client.get(f"/api/automation-runs?automationId={auto.id}")).json()
    assert (stored["status"], stored["error"]) == ("failed", ABANDONED_TEXT)
    assert (await client.get(f"/api/automations/{auto.id}")).json()["lastRunStatus"] == "failed"
    # A finished run is never touched again.
    assert await relay.automations.fail_abandoned(now_ms() + 6 * 60_000) == []


async def test_concurrent_patches_of_different_fields_both_land(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    from relay_model.automations.automations import AutomationInput

    created = await _create(client)
    store = relay.automations
    stale = await store.require(created["id"])
    # Another node disables the automation between this PATCH's read and its save.
    r = await client.patch(f"/api/automations/{created['id']}", json={"enabled": False})
    assert r.status_code == 200, r.text
    reads = 0
    get = store.get

    async def first_read_stale(automation_id: str):  # type: ignore[no-untyped-def]
        nonlocal reads
        reads += 1
        return stale if reads == 1 else await get(automation_id)

    store.get = first_read_stale  # type: ignore[method-assign]
    renamed = await store.update(created["id"], AutomationInput(name="renamed"))
    assert (renamed.name, renamed.enabled) == ("renamed", False)
    got = (await client.get(f"/api/automations/{created['id']}")).json()
    assert (got["name"], got["enabled"], got["nextRunAt"]) == ("renamed", False, None)
    assert await relay.redis.zscore(keys.automations_due(), created["id"]) is None


async def test_schedule_pass_drops_only_due_entries_that_are_really_stale(
    client: AsyncTestClient, relay: Relay
) -> None:  # type: ignore[type-arg]
    from relay_model.automations.automations import EventTrigger

    auto = await _create(client, trigger=EVERY_MINUTE)
    slot = auto["nextRunAt"]
    await relay.redis.zadd(keys.automations_due(), {"deleted-long-ago": slot})
    # The pass reads the automation while a PATCH has it on an event trigger; by the time the pass
    # cleans up, a second PATCH put the schedule back (and the due entry with it).
    get_many = relay.automations.get_many

    async def mid_change_view(ids: list[str]):  # type: ignore[no-untyped-def]
        return [msgspec.structs.replace(a, trigger=EventTrigger(event="task.created")) for a in await get_many(ids)]

    relay.automations.get_many = mid_change_view  # type: ignore[method-assign]
    assert await dispatch_due(relay, grace_ms=10_000, now=slot) == []
    due = dict(await relay.redis.zrange(keys.automations_due(), 0, -1, withscores=True))
    assert due == {auto["id"]: slot}


async def test_a_stopping_worker_retires_its_event_consumer(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    from relay_model.flows.automation_dispatch import CONSUMER_GROUP, retire_consumer

    await _create(client, trigger=ON_TASK)
    await client.post("/api/tasks", json={"title": "t"})
    await dispatch_events(relay, consumer="gone")
    stream = keys.events(keys.TASK)
    # A consumer still owing an event stays until another worker has reclaimed it.
    await client.post("/api/tasks", json={"title": "u"})
    await relay.redis.xreadgroup(CONSUMER_GROUP, "busy", {stream: ">"}, count=10)
    names = {c["name"] for c in await relay.redis.xinfo_consumers(stream, CONSUMER_GROUP)}
    assert {"gone", "busy"} <= names
    await retire_consumer(relay, "gone")
    await retire_consumer(relay, "busy")
    names = {c["name"] for c in await relay.redis.xinfo_consumers(stream, CONSUMER_GROUP)}
    assert "gone" not in names and "busy" in names


async def test_one_broken_schedule_does_not_stop_the_others(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    await client.post("/api/agents", json={"id": "ops"})
    good = await _create(client, name="good", trigger=EVERY_MINUTE)
    bad = await _create(client, name="bad", trigger=EVERY_MINUTE)
    # A record written by a build that accepted what this one cannot read.
    doc = await relay.redis.hget(keys.automation(bad["id"]), "doc")
    await relay.redis.hset(keys.automation(bad["id"]), "doc", doc.replace("* * * * *", "not a cron"))
    slot = good["nextRunAt"]
    fired = await dispatch_due(relay, grace_ms=10_000, now=slot)
    assert [r.automation_id for r in fired] == [good["id"]]
    assert await relay.redis.zscore(keys.automations_due(), bad["id"]) == slot


async def test_an_automation_is_not_triggered_by_the_task_it_created(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    echo = await _create(
        client,
        name="follow up every task",
        trigger=ON_TASK,
        action={"type": "task", "task": {"title": "Follow up"}},
    )
    other = await _create(client, name="count tasks", trigger=ON_TASK, action=MESSAGE_ACTION)
    await client.post("/api/tasks", json={"title": "first"})
    fired = await dispatch_events(relay, consumer="w1")
    assert sorted(r.automation_id for r in fired) == sorted([echo["id"], other["id"]])
    # The follow-up task reaches the other automation, but does not start another follow-up.
    again = await dispatch_events(relay, consumer="w1")
    assert [r.automation_id for r in again] == [other["id"]]
    assert await dispatch_events(relay, consumer="w1") == []
    assert [t["title"] for t in (await client.get("/api/tasks")).json()] == ["Follow up", "first"]

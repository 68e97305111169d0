"""Tasks over HTTP against a real Redis: create, list, history, status, claims, reaper steps."""

from __future__ import annotations

import asyncio

from litestar.testing import AsyncTestClient

from relay_model.clock import now_ms
from relay_model.reaper import ReapReport
from relay_model.relay import Relay
from relay_model.tasks.reaper import release_expired_task_claims, release_orphaned_tasks

STATUS_TEXT = "status must be one of: open, claimed, in_progress, blocked, orphaned, done, failed, canceled"


async def _task(client: AsyncTestClient, **body: object) -> dict:  # type: ignore[type-arg]
    r = await client.post("/api/tasks", json={"title": "Fix the build", **body})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_create_get_list_and_filters(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    await client.post("/api/agents", json={"id": "a1"})
    t1 = await _task(client, target="a1", severity="critical", metadata={"k": [], "n": 1.5})
    t2 = await _task(client, title="Second", channel="ops")
    assert t1["id"] + 1 == t2["id"]
    assert t1["status"] == "open" and t1["severity"] == "critical" and t1["metadata"] == {"k": [], "n": 1.5}
    assert t1["source"] == "api" and t1["claimedBy"] is None
    assert (await client.get(f"/api/tasks/{t1['id']}")).json() == t1
    assert [t["id"] for t in (await client.get("/api/tasks")).json()] == [t2["id"], t1["id"]]
    assert [t["id"] for t in (await client.get("/api/tasks?target=a1")).json()] == [t1["id"]]
    assert [t["id"] for t in (await client.get("/api/tasks?channel=ops")).json()] == [t2["id"]]
    assert [t["id"] for t in (await client.get("/api/tasks?limit=1")).json()] == [t2["id"]]
    assert [t["id"] for t in (await client.get(f"/api/tasks?before={t2['id']}")).json()] == [t1["id"]]
    # The target was told with a `task` message.
    inbox = (await client.get("/api/messages?for=a1")).json()
    assert [(m["kind"], m["subject"], m["payload"]["taskId"]) for m in inbox] == [("task", "Fix the build", t1["id"])]


async def test_validation_texts(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    r = await client.get("/api/tasks?limit=0")
    assert (r.status_code, r.json()) == (400, {"error": "limit must be an integer between 1 and 500"})
    r = await client.get("/api/tasks?limit=501")
    assert r.json() == {"error": "limit must be an integer between 1 and 500"}
    r = await client.get("/api/tasks?status=nope")
    assert r.json() == {"error": STATUS_TEXT}
    r = await client.post("/api/tasks", json={})
    assert r.json() == {"error": "title required"}
    r = await client.post("/api/tasks", json={"title": "x", "severity": "huge"})
    assert r.json() == {"error": "severity must be one of: info, warning, critical"}
    t = await _task(client)
    r = await client.patch(f"/api/tasks/{t['id']}/status", json={})
    assert (r.status_code, r.json()) == (400, {"error": "status required"})
    r = await client.patch(f"/api/tasks/{t['id']}/status", json={"status": "finished"})
    assert r.json() == {"error": STATUS_TEXT}
    r = await client.patch(f"/api/tasks/{t['id']}/status", json=[1])
    assert r.json() == {"error": "JSON object body required"}
    r = await client.patch(f"/api/tasks/{t['id']}/status", json={"status": "done", "note": "x" * 4001})
    assert r.json() == {"error": "note must be at most 4000 characters"}
    r = await client.patch(f"/api/tasks/{t['id']}/status", json={"status": "in_progress"})
    assert (r.status_code, r.json()) == (400, {"error": "agentId required"})
    r = await client.post(f"/api/tasks/{t['id']}/claim", json={"agentId": "a", "ttlMs": 0})
    assert r.json() == {"error": "ttlMs must be a positive integer"}
    r = await client.post(f"/api/tasks/{t['id']}/claim", json={"agentId": "a", "ttlMs": 2**53 - 1})
    assert r.json() == {"error": "ttlMs must be an integer <= 2592000000"}
    assert (await client.get("/api/tasks/999")).json() == {"error": "task not found"}
    assert (await client.patch("/api/tasks/999/status", json={"status": "done"})).status_code == 404
    assert (await client.post("/api/tasks/999/claim", json={"agentId": "a"})).status_code == 404
    assert (await client.get("/api/tasks/999/events")).json() == {"error": "task not found"}


async def test_claim_status_and_history(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    t = await _task(client)
    url = f"/api/tasks/{t['id']}"
    r = await client.post(url + "/claim", json={"agentId": "a", "ttlMs": 60_000})
    assert r.status_code == 200
    claimed = r.json()["task"]
    assert claimed["status"] == "claimed" and claimed["claimedBy"] == "a" and claimed["claimExpiresAt"] > now_ms()
    # The holder may claim again (renew); anyone else gets 409.
    assert (await client.post(url + "/claim", json={"agentId": "a"})).status_code == 200
    r = await client.post(url + "/claim", json={"agentId": "b"})
    assert (r.status_code, r.json()) == (409, {"error": "task already claimed by a"})
    r = await client.patch(url + "/status", json={"status": "in_progress", "agentId": "b"})
    assert (r.status_code, r.json()) == (409, {"error": "task is claimed by a"})
    r = await client.patch(url + "/status", json={"status": "in_progress", "agentId": "a", "note": "on it"})
    assert r.json()["status"] == "in_progress"
    r = await client.patch(url + "/status", json={"status": "done", "agentId": "a"})
    assert r.json()["status"] == "done" and r.json()["claimedBy"] == "a" and r.json()["claimExpiresAt"] is None
    r = await client.post(url + "/claim", json={"agentId": "b"})
    assert (r.status_code, r.json()) == (409, {"error": "task is done"})
    # Reopening releases the claimant.
    r = await client.patch(url + "/status", json={"status": "open"})
    assert r.json()["status"] == "open" and r.json()["claimedBy"] is None
    history = (await client.get(url + "/events")).json()
    assert [(h["type"], h["action"], h["status"]) for h in history] == [
        ("task.created", "created", "open"),
        ("task.updated", "claimed", "claimed"),
        ("task.updated", "renewed", "claimed"),
        ("task.updated", "status", "in_progress"),
        ("task.updated", "status", "done"),
        ("task.updated", "status", "open"),
    ]
    assert history[3]["note"] == "on it" and history[3]["agentId"] == "a" and history[3]["previousStatus"] == "claimed"
    assert [h["id"] for h in history] == [1, 2, 3, 4, 5, 6]
    feed = (await client.get("/api/activity?kind=task")).json()
    assert [e["title"] for e in feed] == ["Task reopened", "Task done", "Task in progress", "Task created"]
    assert feed[1]["metadata"] == {"taskId": t["id"], "status": "done", "severity": "info", "source": "api"}


async def test_concurrent_claims_have_one_winner(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    t = await _task(client)
    results = await asyncio.gather(
        *(client.post(f"/api/tasks/{t['id']}/claim", json={"agentId": f"agent-{i}"}) for i in range(20))
    )
    assert sorted(r.status_code for r in results) == [200] + [409] * 19


async def test_every_change_emits_its_event(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    from relay_model import keys

    t = await _task(client)
    await client.post(f"/api/tasks/{t['id']}/claim", json={"agentId": "a"})
    entries = await relay.redis.xrange(keys.events(keys.TASK))
    assert [e[1]["t"] for e in entries] == ["task.created", "task.updated"]
    assert '"claimedBy":"a"' in entries[1][1]["d"]


async def test_a_new_task_tells_its_target_then_records_the_entry(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    from relay_model import keys

    await client.post("/api/agents", json={"id": "on"})
    t = await _task(client, target="on")
    entries = await relay.redis.xrange(keys.events(keys.BUS))
    created = [(e[1]["t"], e[1]["j"]) for e in entries if e[1]["t"] in ("message.created", "activity.created")]
    assert created == [("message.created", "1"), ("activity.created", "on")]
    assert f'"meta":"{t["id"]}"' in entries[-1][1]["d"] and '"title":"Task created"' in entries[-1][1]["d"]


async def test_a_task_for_an_offline_target_is_created_and_recorded_without_a_message(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await client.post("/api/agents", json={"id": "away"})
    assert (await client.patch("/api/agents/away/status", json={"status": "offline"})).status_code == 200
    t = await _task(client, target="away")
    assert t["target"] == "away" and t["status"] == "open"
    assert (await client.get("/api/messages?to=away")).json() == []
    feed = (await client.get("/api/activity?kind=task")).json()
    assert [(e["title"], e["meta"], e["agentId"]) for e in feed] == [("Task created", str(t["id"]), "away")]


async def test_reaper_releases_expired_claims(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    t1, t2 = await _task(client), await _task(client)
    await client.post(f"/api/tasks/{t1['id']}/claim", json={"agentId": "a", "ttlMs": 1000})
    await client.post(f"/api/tasks/{t2['id']}/claim", json={"agentId": "a", "ttlMs": 600_000})
    report = ReapReport()
    await release_expired_task_claims(relay, now_ms() + 5000, report)
    assert report.released_task_ids == [t1["id"]]
    got = (await client.get(f"/api/tasks/{t1['id']}")).json()
    assert got["status"] == "open" and got["claimedBy"] is None
    assert (await client.get(f"/api/tasks/{t2['id']}")).json()["status"] == "claimed"
    # A second pass finds nothing more (compare-and-set: a released claim is not released twice).
    again = ReapReport()
    await release_expired_task_claims(relay, now_ms() + 5000, again)
    assert again.released_task_ids == []


async def test_reaper_releases_tasks_of_offline_claimants(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    for agent in ("gone", "alive"):
        await client.post("/api/agents", json={"id": agent})
    t1, t2, t3 = await _task(client), await _task(client), await _task(client)
    await client.post(f"/api/tasks/{t1['id']}/claim", json={"agentId": "gone"})
    await client.patch(f"/api/tasks/{t2['id']}/status", json={"status": "in_progress", "agentId": "gone"})
    await client.post(f"/api/tasks/{t3['id']}/claim", json={"agentId": "alive"})
    await client.patch("/api/agents/gone/status", json={"status": "offline"})
    report = ReapReport()
    await release_orphaned_tasks(relay, now_ms(), report)
    assert sorted(report.released_orphaned_task_ids) == [t1["id"], t2["id"]]
    history = (await client.get(f"/api/tasks/{t2['id']}/events")).json()
    assert [(h["action"], h["status"]) for h in history[-2:]] == [("orphaned", "orphaned"), ("released", "open")]
    assert (await client.get(f"/api/tasks/{t1['id']}")).json()["claimedBy"] is None
    assert (await client.get(f"/api/tasks/{t3['id']}")).json()["claimedBy"] == "alive"
    again = ReapReport()
    await release_orphaned_tasks(relay, now_ms(), again)
    assert again.released_orphaned_task_ids == []
    assert await relay.tasks.claimants() == ["alive"]


async def test_an_expired_claim_can_be_taken_over_before_the_reaper_runs(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    t = await _task(client)
    await client.post(f"/api/tasks/{t['id']}/claim", json={"agentId": "a", "ttlMs": 1})
    await asyncio.sleep(0.01)
    r = await client.post(f"/api/tasks/{t['id']}/claim", json={"agentId": "b"})
    assert r.status_code == 200 and r.json()["task"]["claimedBy"] == "b"
    assert [x["id"] for x in (await client.get("/api/tasks?claimedBy=a")).json()] == []
    assert [x["id"] for x in (await client.get("/api/tasks?claimedBy=b")).json()] == [t["id"]]

"""Commands over HTTP against a real Redis: validation texts, the state machine, queues, events, expiry."""

from __future__ import annotations

import json

import pytest
from litestar.testing import AsyncTestClient

from relay_model import keys
from relay_model.commands.commands import Command
from relay_model.relay import Relay, reap_once


async def _create(client: AsyncTestClient, **extra: object) -> dict:  # type: ignore[type-arg]
    body = {"type": "agent.restart", "source": "system", "target": "a1", **extra}
    r = await client.post("/api/commands", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def _events(relay: Relay) -> list[tuple[str, str, dict]]:  # type: ignore[type-arg]
    entries = await relay.redis.xrange(keys.events(keys.CMD))
    return [(f["t"], f["j"], json.loads(f["d"])) for _, f in entries]


async def test_create_shape_and_requested_event(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    cmd = await _create(client, params={"x": 1}, correlationId="corr-1", ttlMs=60_000)
    assert cmd["id"].startswith("cmd_")
    assert cmd["status"] == "pending"
    assert cmd["params"] == {"x": 1} and cmd["correlationId"] == "corr-1" and cmd["ttlMs"] == 60_000
    assert cmd["expiresAt"] == cmd["createdAt"] + 60_000
    assert cmd["result"] is None and cmd["error"] is None and cmd["finishedAt"] is None
    assert (await client.get(f"/api/commands/{cmd['id']}")).json() == cmd
    (etype, subject, data), *_ = await _events(relay)
    assert (etype, subject, data) == ("command.requested", cmd["id"], {"command": cmd})
    # No ttl given and no default: never expires.
    assert (await _create(client))["expiresAt"] is None


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ([1], "command body must be an object"),
        ({"source": "s", "target": "t"}, "type required"),
        ({"type": " ", "source": "s", "target": "t"}, "type required"),
        ({"type": "x", "target": "t"}, "source required"),
        ({"type": "x", "source": "s"}, "target required"),
        ({"type": "x", "source": "s", "target": "t", "params": [1]}, "params must be an object"),
        ({"type": "x", "source": "s", "target": "t", "params": {"b": "x" * 70_000}}, "params is too large"),
        ({"type": "x", "source": "s", "target": "t", "ttlMs": 0}, "ttlMs must be a positive integer"),
        ({"type": "x", "source": "s", "target": "t", "ttlMs": -5}, "ttlMs must be a positive integer"),
        ({"type": "x", "source": "s", "target": "t", "ttlMs": 1.5}, "ttlMs must be a positive integer"),
        ({"type": "x", "source": "s", "target": "t", "ttlMs": "10"}, "ttlMs must be a positive integer"),
        ({"type": "x", "source": "s", "target": "t", "ttlMs": 2**53}, "ttlMs must be a positive integer"),
        ({"type": "x" * 121, "source": "s", "target": "t"}, "type must be at most 120 characters"),
    ],
)
async def test_create_validation(client: AsyncTestClient, body: object, text: str) -> None:  # type: ignore[type-arg]
    r = await client.post("/api/commands", json=body)
    assert (r.status_code, r.json()) == (400, {"error": text})


async def test_list_query_texts(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    for query, text in [
        ("limit=0", "limit must be an integer between 1 and 500"),
        ("limit=501", "limit must be an integer between 1 and 500"),
        ("limit=x", "limit must be an integer between 1 and 500"),
        ("since=-1", "since must be a non-negative integer"),
        ("since=abc", "since must be a non-negative integer"),
        (
            "status=done",
            "status must be one of: pending, accepted, running, succeeded, failed, timed_out, rejected, canceled",
        ),
    ]:
        r = await client.get(f"/api/commands?{query}")
        assert (r.status_code, r.json()) == (400, {"error": text}), query


async def test_happy_path_transitions_and_events(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    cmd = await _create(client)
    url = f"/api/commands/{cmd['id']}"
    r = await client.patch(url, json={"status": "accepted"})
    assert r.status_code == 200 and r.json()["status"] == "accepted" and r.json()["acceptedAt"]
    r = await client.patch(url, json={"status": "running", "result": {"progress": 10}})
    assert r.json()["status"] == "running" and r.json()["startedAt"] and r.json()["result"] == {"progress": 10}
    # Repeating running reports progress.
    r = await client.patch(url, json={"result": {"progress": 50}})
    assert r.json()["status"] == "running" and r.json()["result"] == {"progress": 50}
    r = await client.patch(url, json={"status": "succeeded", "result": {"pid": 42}})
    done = r.json()
    assert done["status"] == "succeeded" and done["result"] == {"pid": 42} and done["finishedAt"]
    types = [t for t, _, _ in await _events(relay)]
    assert types == [
        "command.requested",
        "command.accepted",
        "command.running",
        "command.running",
        "command.succeeded",
    ]
    # Final: never changes again.
    for body in ({"status": "failed"}, {"status": "running"}, {"result": {"x": 1}}, {"status": "succeeded"}):
        r = await client.patch(url, json=body)
        assert (r.status_code, r.json()) == (
            409,
            {"error": "command is already succeeded; a finished command cannot change"},
        )
    r = await client.delete(url)
    assert (r.status_code, r.json()) == (404, {"error": "command not found or cannot be canceled"})
    assert (await client.get(url)).json() == done


@pytest.mark.parametrize(
    ("path", "body", "text"),
    [
        (["running"], {"status": "accepted"}, "cannot move command from running to accepted"),
        (["running"], {"status": "pending"}, "cannot move command from running to pending"),
        (["running"], {"status": "rejected"}, "cannot move command from running to rejected"),
        (["accepted"], {"status": "pending"}, "cannot move command from accepted to pending"),
        ([], {"status": "pending"}, "command is still pending: accept, start or finish it to report a result"),
        ([], {"result": {"a": 1}}, "command is still pending: accept, start or finish it to report a result"),
    ],
)
async def test_illegal_transitions(
    client: AsyncTestClient,  # type: ignore[type-arg]
    relay: Relay,
    path: list[str],
    body: dict,  # type: ignore[type-arg]
    text: str,
) -> None:
    cmd = await _create(client)
    url = f"/api/commands/{cmd['id']}"
    for status in path:
        assert (await client.patch(url, json={"status": status})).status_code == 200
    before = (await client.get(url)).json()
    events_before = len(await _events(relay))
    r = await client.patch(url, json=body)
    assert (r.status_code, r.json()) == (409, {"error": text})
    assert (await client.get(url)).json() == before
    assert len(await _events(relay)) == events_before


async def test_patch_validation_and_not_found(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    cmd = await _create(client)
    url = f"/api/commands/{cmd['id']}"
    assert (await client.patch(url, json="x")).json() == {"error": "command body must be an object"}
    r = await client.patch(url, json={"status": "done"})
    assert r.json() == {
        "error": "status must be one of: pending, accepted, running, succeeded, failed, timed_out, rejected, canceled"
    }
    assert (await client.patch(url, json={"status": "failed", "result": "x"})).json() == {
        "error": "result must be an object"
    }
    r = await client.patch(url, json={"status": "failed", "error": "e" * 4001})
    assert r.json() == {"error": "error must be at most 4000 characters"}
    r = await client.patch("/api/commands/cmd_nope", json={"status": "accepted"})
    assert (r.status_code, r.json()) == (404, {"error": "command not found"})
    assert (await client.get("/api/commands/cmd_nope")).json() == {"error": "command not found"}
    r = await client.patch(url, json={"status": "failed", "error": "boom"})
    assert r.json()["status"] == "failed" and r.json()["error"] == "boom"


async def test_reject_from_pending_and_cancel(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    a = await _create(client)
    r = await client.patch(f"/api/commands/{a['id']}", json={"status": "rejected", "error": "busy"})
    assert r.json()["status"] == "rejected"
    b = await _create(client)
    await client.patch(f"/api/commands/{b['id']}", json={"status": "running"})
    assert (await client.delete(f"/api/commands/{b['id']}")).json() == {"ok": True}
    got = (await client.get(f"/api/commands/{b['id']}")).json()
    assert got["status"] == "canceled" and got["finishedAt"]
    assert (await _events(relay))[-1][0] == "command.canceled"
    r = await client.delete("/api/commands/cmd_missing")
    assert (r.status_code, r.json()) == (404, {"error": "command not found or cannot be canceled"})


async def test_target_queue_and_filters(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    a1 = [await _create(client, target="me") for _ in range(3)]
    other = await _create(client, target="other", type="connector.start")
    await client.patch(f"/api/commands/{a1[0]['id']}", json={"status": "accepted"})
    pending = (await client.get("/api/commands?target=me&status=pending")).json()
    assert [c["id"] for c in pending] == [a1[1]["id"], a1[2]["id"]]
    # The target's pending queue is its own zset: other targets' commands are not in it.
    queue = await relay.redis.zrange(keys.commands_queue("pending", "me"), 0, -1)
    assert queue == [a1[1]["id"], a1[2]["id"]]
    assert [c["id"] for c in (await client.get("/api/commands?target=me")).json()] == [c["id"] for c in a1]
    assert [c["id"] for c in (await client.get("/api/commands?status=accepted")).json()] == [a1[0]["id"]]
    assert [c["id"] for c in (await client.get("/api/commands?type=connector.start")).json()] == [other["id"]]
    everything = (await client.get("/api/commands")).json()
    assert [c["id"] for c in everything] == [c["id"] for c in [*a1, other]]
    # Without since: the newest `limit`, oldest first. With since: the oldest from `since` on.
    assert [c["id"] for c in (await client.get("/api/commands?limit=2")).json()] == [a1[2]["id"], other["id"]]
    since = a1[1]["createdAt"]
    got = (await client.get(f"/api/commands?since={since}&limit=500")).json()
    assert all(c["createdAt"] >= since for c in got) and a1[1]["id"] in [c["id"] for c in got]
    assert (await client.get(f"/api/commands?since={other['createdAt'] + 1}")).json() == []


async def test_ttl_expiry_by_reaper_step(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    seen: list[Command] = []

    async def hook(command: Command) -> None:
        seen.append(command)

    relay.commands.on_final.append(hook)
    short = await _create(client, ttlMs=1000)
    long = await _create(client, ttlMs=3_600_000)
    done = await _create(client, ttlMs=1000)
    await relay.commands.update(done["id"], status="succeeded")
    report = await reap_once(relay, now=short["createdAt"] + 999, audit=False)
    assert report.expired_command_ids == []
    report = await reap_once(relay, now=short["createdAt"] + 5000, audit=False)
    assert report.expired_command_ids == [short["id"]]
    got = await relay.commands.get(short["id"])
    assert got is not None and got.status == "timed_out"
    assert got.error == "command timed out: no final status within its ttl of 1000 ms"
    assert (await relay.commands.get(long["id"])).status == "pending"  # type: ignore[union-attr]
    # The hook saw both final transitions: the PATCH and the expiry.
    assert [(c.id, c.status) for c in seen] == [(done["id"], "succeeded"), (short["id"], "timed_out")]
    # A second pass finds nothing due.
    assert (await reap_once(relay, now=short["createdAt"] + 6000, audit=False)).expired_command_ids == []
    assert (await _events(relay))[-1][0] == "command.timed_out"


async def test_on_final_hook_sees_cancel_and_survives_errors(relay: Relay) -> None:
    calls: list[str] = []

    async def broken(command: Command) -> None:
        raise RuntimeError("boom")

    async def hook(command: Command) -> None:
        calls.append(command.status)

    relay.commands.on_final.extend([broken, hook])
    cmd = await relay.commands.create(type="t", source="s", target="x")
    await relay.commands.update(cmd.id, status="running")
    canceled = await relay.commands.cancel(cmd.id)
    assert canceled.status == "canceled"
    assert calls == ["canceled"]


async def test_purge_after_retention(relay: Relay) -> None:
    cmd = await relay.commands.create(type="t", source="s", target="x")
    done = await relay.commands.update(cmd.id, status="failed")
    assert await relay.commands.purge_finished(done.finished_at - 1) == 0  # type: ignore[operator]
    assert await relay.commands.purge_finished(done.finished_at) == 1  # type: ignore[arg-type]
    assert await relay.commands.get(cmd.id) is None
    assert await relay.redis.zcard(keys.commands_by("target", "x")) == 0
    assert await relay.redis.zcard(keys.commands_queue("failed", "x")) == 0
    assert await relay.redis.zcard(keys.commands_all()) == 0


async def test_default_ttl_setting(redis, settings) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    relay = Relay(redis, dataclasses.replace(settings, command_default_ttl_ms=5000))
    cmd = await relay.commands.create(type="t", source="s", target="x")
    assert cmd.ttl_ms == 5000 and cmd.expires_at == cmd.created_at + 5000


async def test_concurrent_transitions_one_winner(relay: Relay) -> None:
    import asyncio

    from relay_model.errors import Conflict, NotFound

    for _ in range(5):
        cmd = await relay.commands.create(type="t", source="s", target="x")
        attempts = [
            relay.commands.update(cmd.id, status="succeeded"),
            relay.commands.update(cmd.id, status="failed"),
            relay.commands.update(cmd.id, status="rejected"),
            relay.commands.cancel(cmd.id),
        ]
        results = await asyncio.gather(*attempts, return_exceptions=True)
        winners = [r for r in results if isinstance(r, Command)]
        assert len(winners) == 1
        assert all(isinstance(r, Conflict | NotFound) for r in results if not isinstance(r, Command))
        assert (await relay.commands.get(cmd.id)).status == winners[0].status  # type: ignore[union-attr]

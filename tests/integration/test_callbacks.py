"""Integration callbacks against a local HTTP server: signature, retries, no redirects, leases."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from relay_model import keys
from relay_model.clock import now_ms
from relay_model.integrations.callbacks import RetryPolicy
from relay_model.relay import Relay
from relay_model.settings import Integration, Settings
from tests.conftest import ADMIN_TOKEN, AUTH
from tests.receiver import Receiver, callback_receiver

POLICY = RetryPolicy(max_attempts=3, backoff_ms=60_000, backoff_max_ms=600_000, timeout_s=2.0, lease_ms=30_000)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with callback_receiver() as rec:
        yield rec


def _integrations(receiver: Receiver) -> tuple[Integration, ...]:
    return (
        Integration(
            name="hooked",
            token="hooked-token-0123456789",
            targets=("backend", "channel:ops"),
            callback_url=receiver.url + "/hook",
            secret="hook-secret",
        ),
        Integration(name="moved", token="moved-token-0123456789", callback_url=receiver.url + "/moved"),
        Integration(name="silent", token="silent-token-0123456789"),
    )


@pytest.fixture
async def setup(
    redis: Redis, redis_url: str, receiver: Receiver
) -> AsyncIterator[tuple[AsyncTestClient, Relay, tuple[Integration, ...]]]:  # type: ignore[type-arg]
    from relay_api.app import create_app

    integrations = _integrations(receiver)
    settings = Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN, integrations=integrations)
    relay = Relay(redis, settings)
    async with AsyncTestClient(create_app(settings)) as c:
        c.headers.update(AUTH)
        yield c, relay, integrations


async def _event(c: AsyncTestClient, integ: Integration, **body: object) -> dict:  # type: ignore[type-arg]
    r = await c.post(
        "/api/integrations/events",
        json={"title": "Disk full", **body},
        headers={"Authorization": f"Bearer {integ.token}"},
    )
    assert r.status_code in (200, 201), r.text
    return r.json()["task"]  # type: ignore[no-any-return]


async def test_signed_delivery_of_created_and_updated(setup, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    c, relay, integrations = setup
    hooked = integrations[0]
    task = await _event(c, hooked, target="backend")
    # Nothing is sent by the API node itself.
    assert receiver.hits == []
    await c.patch(f"/api/tasks/{task['id']}/status", json={"status": "done", "agentId": "backend"})
    sent = await relay.callbacks.deliver_due(integrations, POLICY)
    assert sent == 2 and len(receiver.hits) == 2
    events = []
    for path, headers, body in receiver.hits:
        assert path == "/hook"
        ts = headers["x-agent-relay-timestamp"]
        expected = hmac.new(b"hook-secret", ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        assert headers["x-agent-relay-signature"] == "sha256=" + expected
        doc = json.loads(body)
        assert headers["x-agent-relay-event"] == doc["type"]
        assert headers["x-agent-relay-delivery"] == str(doc["deliveryId"])
        events.append((doc["type"], doc["task"]["id"], doc["task"]["status"], doc["integration"]))
    assert sorted(events) == [
        ("task.created", task["id"], "open", "hooked"),
        ("task.updated", task["id"], "done", "hooked"),
    ]
    listed = (await c.get("/api/integrations/deliveries?integration=hooked&status=delivered")).json()
    assert len(listed) == 2 and all(d["attempts"] == 1 and d["attemptLog"][0]["statusCode"] == 200 for d in listed)
    # Delivered entries are not sent again.
    assert await relay.callbacks.deliver_due(integrations, POLICY) == 0


async def test_retries_on_500_with_backoff(setup, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    c, relay, integrations = setup
    receiver.statuses = [500, 503]
    await _event(c, integrations[0], target="backend")
    before = now_ms()
    await relay.callbacks.deliver_due(integrations, POLICY)
    (d,) = (await c.get("/api/integrations/deliveries")).json()
    assert (d["status"], d["attempts"], d["lastStatusCode"]) == ("pending", 1, 500)
    # The retry waits in the schedule zset for backoff_ms.
    assert d["nextAt"] >= before + POLICY.backoff_ms
    assert await relay.callbacks.deliver_due(integrations, POLICY) == 0
    # Make it due now (as time passing would), twice: 503 then the third and last attempt succeeds.
    for expected in (2, 3):
        await relay.redis.zadd(keys.callbacks_due(), {str(d["id"]): 0})
        await relay.callbacks.deliver_due(integrations, POLICY)
        (d,) = (await c.get("/api/integrations/deliveries")).json()
        assert d["attempts"] == expected
    assert d["status"] == "delivered"
    assert [a["statusCode"] for a in d["attemptLog"]] == [500, 503, 200]
    assert POLICY.delay_ms(2) == 2 * POLICY.delay_ms(1)


async def test_gives_up_after_max_attempts(setup, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    c, relay, integrations = setup
    receiver.statuses = [500, 500, 500, 500]
    await _event(c, integrations[0], target="backend")
    for _ in range(POLICY.max_attempts):
        await relay.redis.zadd(keys.callbacks_due(), {"1": 0})
        await relay.callbacks.deliver_due(integrations, POLICY)
    (d,) = (await c.get("/api/integrations/deliveries?status=failed")).json()
    assert d["attempts"] == POLICY.max_attempts
    assert await relay.redis.zcard(keys.callbacks_due()) == 0


async def test_redirect_is_not_followed(setup, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    c, relay, integrations = setup
    await _event(c, integrations[1], target="anything")
    await relay.callbacks.deliver_due(integrations, POLICY)
    assert [h[0] for h in receiver.hits] == ["/moved"]
    (d,) = (await c.get("/api/integrations/deliveries?integration=moved")).json()
    assert (d["status"], d["lastStatusCode"], d["lastError"]) == ("failed", 302, "callback answered 302")


async def test_filters_follow_dispatch_task_callbacks(setup, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    c, _, integrations = setup
    await c.post("/api/agents", json={"id": "ops", "kind": "channel"})
    await c.post("/api/agents", json={"id": "backend"})
    await c.post("/api/channel-bindings", json={"channelId": "ops", "target": "backend"})
    # Resolved through channel:ops: the target is `backend`, relayRequestedTarget keeps it matching.
    task = await _event(c, integrations[0], target="channel:ops")
    assert task["target"] == "backend"
    await _event(c, integrations[2], target="backend")  # no callbackUrl: nothing queued
    await c.post("/api/tasks", json={"title": "api task", "target": "backend"})  # not an integration's task
    listed = (await c.get("/api/integrations/deliveries")).json()
    assert [(d["integration"], d["taskId"], d["event"]) for d in listed] == [("hooked", task["id"], "task.created")]


async def test_concurrent_senders_send_each_entry_once(setup, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    c, relay, integrations = setup
    for i in range(8):
        await _event(c, integrations[0], target="backend", externalId=f"e{i}")
    other = Relay(relay.redis, relay.settings)
    await asyncio.gather(
        relay.callbacks.deliver_due(integrations, POLICY, batch=3),
        other.callbacks.deliver_due(integrations, POLICY, batch=3),
    )
    ids = [json.loads(body)["deliveryId"] for _, _, body in receiver.hits]
    assert sorted(ids) == list(range(1, 9))
    listed = (await c.get("/api/integrations/deliveries?status=delivered")).json()
    assert len(listed) == 8 and all(d["attempts"] == 1 for d in listed)


async def test_a_lost_lease_records_nothing(setup, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    from relay_model.integrations.callbacks import DeliveryAttempt

    c, relay, integrations = setup
    await _event(c, integrations[0], target="backend")
    (row,) = await relay.callbacks.lease(now=now_ms(), limit=10, lease_ms=1, token="first")
    # The lease ran out and another sender took the entry.
    (row2,) = await relay.callbacks.lease(now=now_ms() + 10, limit=10, lease_ms=30_000, token="second")
    assert row2[0] == row[0] and int(row2[4]) == 2
    attempt = DeliveryAttempt(attempt=1, at=now_ms(), ok=True, status_code=200)
    assert await relay.callbacks.finish(str(row[0]), "first", "delivered", attempt, None) is False
    (d,) = (await c.get("/api/integrations/deliveries")).json()
    assert d["status"] == "pending" and d["attemptLog"] == []


async def test_retention_forgets_oldest_settled_deliveries(setup, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    c, relay, integrations = setup
    for i in range(4):
        await _event(c, integrations[0], target="backend", externalId=f"r{i}")
    await relay.callbacks.deliver_due(integrations, POLICY)
    await _event(c, integrations[0], target="backend", externalId="r4")  # still pending
    assert await relay.callbacks.trim(keep=2) == 3
    listed = (await c.get("/api/integrations/deliveries")).json()
    assert [(d["id"], d["status"]) for d in listed] == [(5, "pending"), (4, "delivered")]
    assert await relay.redis.exists(keys.callback(1), keys.callback_attempts(1)) == 0
    assert (await c.get("/api/integrations/deliveries?status=delivered")).json()[0]["id"] == 4


def test_the_worker_job_outlasts_a_delivery_run() -> None:
    from relay_model.integrations.callbacks import DELIVERY_BUDGET_S
    from relay_worker.jobs.callbacks import deliver_callbacks
    from relay_worker.settings import SETTINGS, WorkerSettings

    (job,) = [j for j in WorkerSettings.cron_jobs if j.coroutine is deliver_callbacks]
    assert job.timeout_s is not None and job.timeout_s > DELIVERY_BUDGET_S + SETTINGS.callback_timeout_s


async def test_deliveries_left_pending_fail_once_no_callback_is_configured(setup, receiver: Receiver) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    import msgspec

    from relay_worker.jobs.callbacks import deliver_callbacks

    c, relay, integrations = setup
    await _event(c, integrations[0], target="backend")
    # The operator removed every callbackUrl before the worker got to the delivery.
    unhooked = tuple(msgspec.structs.replace(i, callback_url=None) for i in integrations)
    restarted = Relay(relay.redis, dataclasses.replace(relay.settings, integrations=unhooked))
    assert await deliver_callbacks({"relay": restarted}) == 1
    (d,) = (await c.get("/api/integrations/deliveries")).json()
    assert (d["status"], d["lastError"]) == ("failed", "integration has no callbackUrl configured any more")
    assert receiver.hits == []

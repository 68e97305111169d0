"""Integrations over HTTP against a real Redis: auth, targets, channel resolution, rate limit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from relay_model.settings import Integration, Settings
from tests.conftest import ADMIN_TOKEN, AUTH

ALERTS = Integration(
    name="alerts",
    token="alerts-token-0123456789",
    targets=("backend", "channel:ops", "channel:multi", "channel:fanout", "channel:pool", "channel:orch", "channel:"),
    channels=("ops", "multi", "fanout", "pool", "orch"),
    secret="alerts-secret",
)
OPEN = Integration(name="open", token="open-token-0123456789abc")
NARROW = Integration(name="narrow", token="narrow-token-0123456789", scopes=("tasks:read",))
INTEGRATIONS = (ALERTS, OPEN, NARROW)


def bearer(integ: Integration) -> dict[str, str]:
    return {"Authorization": f"Bearer {integ.token}"}


@pytest.fixture
async def iclient(redis: Redis, redis_url: str) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    from relay_api.app import create_app

    settings = Settings(
        redis_url=redis_url, admin_token=ADMIN_TOKEN, integrations=INTEGRATIONS, integration_rate_limit_per_minute=30
    )
    async with AsyncTestClient(create_app(settings)) as c:
        c.headers.update(AUTH)
        yield c


async def _event(c: AsyncTestClient, integ: Integration, **body: object):  # type: ignore[no-untyped-def,type-arg]
    return await c.post("/api/integrations/events", json={"title": "Disk full", **body}, headers=bearer(integ))


async def test_list_never_shows_secrets(iclient: AsyncTestClient) -> None:  # type: ignore[type-arg]
    r = await iclient.get("/api/integrations")
    assert r.status_code == 200
    assert [i["name"] for i in r.json()] == ["alerts", "open", "narrow"]
    assert "token" not in r.text and ALERTS.token not in r.text and "alerts-secret" not in r.text
    assert r.json()[2]["scopes"] == ["tasks:read"]


async def test_auth(iclient: AsyncTestClient) -> None:  # type: ignore[type-arg]
    r = await iclient.post("/api/integrations/events", json={"target": "backend", "title": "x"})
    assert (r.status_code, r.json()) == (401, {"error": "integration token required"})
    r = await iclient.get("/api/agents", headers=bearer(OPEN))
    assert (r.status_code, r.json()) == (403, {"error": "token lacks scope agents:read"})
    r = await iclient.get("/api/tasks", headers=bearer(NARROW))
    assert r.status_code == 200
    r = await _event(iclient, NARROW, target="backend")
    assert (r.status_code, r.json()) == (403, {"error": "integration token lacks scope tasks:write"})
    r = await iclient.post("/api/integrations/events", json={}, headers={"Authorization": "Bearer nope-nope-nope-nope"})
    assert r.status_code == 401


async def test_event_creates_then_updates_by_external_id(iclient: AsyncTestClient) -> None:  # type: ignore[type-arg]
    await iclient.post("/api/agents", json={"id": "backend"})
    r = await _event(iclient, ALERTS, target="backend", severity="critical", externalId="inc-1", type="alert")
    assert r.status_code == 201
    created = r.json()
    assert created["created"] is True and created["ok"] is True
    task = created["task"]
    assert (task["source"], task["target"], task["externalId"], task["type"], task["severity"]) == (
        "alerts",
        "backend",
        "inc-1",
        "alert",
        "critical",
    )
    assert created["message"]["to"] == "backend" and created["message"]["kind"] == "task"
    r = await _event(iclient, ALERTS, target="backend", title="Disk full (again)", externalId="inc-1")
    assert r.status_code == 200 and r.json()["created"] is False and r.json()["message"] is None
    assert r.json()["task"]["id"] == task["id"] and r.json()["task"]["title"] == "Disk full (again)"
    # The same externalId from another integration is another task.
    r = await _event(iclient, OPEN, target="backend", externalId="inc-1")
    assert r.status_code == 201 and r.json()["task"]["id"] != task["id"]
    history = (await iclient.get(f"/api/tasks/{task['id']}/events")).json()
    assert [h["type"] for h in history] == ["task.created", "task.updated"]


async def test_validation_and_allowed_targets(iclient: AsyncTestClient) -> None:  # type: ignore[type-arg]
    r = await iclient.post("/api/integrations/events", json={"target": "backend"}, headers=bearer(ALERTS))
    assert (r.status_code, r.json()) == (400, {"error": "title required"})
    r = await _event(iclient, ALERTS)
    assert r.json() == {"error": "target required"}
    r = await _event(iclient, ALERTS, target="backend", severity="meh")
    assert r.json() == {"error": "severity must be one of: info, warning, critical"}
    r = await _event(iclient, ALERTS, target="frontend")
    assert (r.status_code, r.json()) == (403, {"error": "integration token cannot target this task"})
    r = await _event(iclient, ALERTS, target="backend", channel="random")
    assert (r.status_code, r.json()) == (403, {"error": "integration token cannot target this task"})
    # channel:<id> counts as the channel when none is given.
    r = await _event(iclient, ALERTS, target="channel:elsewhere")
    assert r.status_code == 403


async def test_channel_targets_resolve_through_one_binding(iclient: AsyncTestClient) -> None:  # type: ignore[type-arg]
    for cid in ("ops", "multi", "fanout", "pool", "orch"):
        await iclient.post("/api/agents", json={"id": cid, "kind": "channel"})
    await iclient.post("/api/agents", json={"id": "backend"})
    r = await _event(iclient, ALERTS, target="channel:")
    assert (r.status_code, r.json()) == (400, {"error": "channel target id required"})
    r = await _event(iclient, OPEN, target="channel:nowhere")
    assert (r.status_code, r.json()) == (400, {"error": "channel nowhere not found"})
    r = await _event(iclient, ALERTS, target="channel:ops")
    assert (r.status_code, r.json()) == (400, {"error": "channel ops has no binding"})
    for target in ("backend", "tag:x"):
        await iclient.post("/api/channel-bindings", json={"channelId": "multi", "target": target, "mode": "broadcast"})
    r = await _event(iclient, ALERTS, target="channel:multi")
    assert r.json() == {
        "error": "channel multi has multiple bindings; integration channel targets must resolve to one backend agent"
    }
    await iclient.post("/api/channel-bindings", json={"channelId": "fanout", "target": "tag:x"})
    r = await _event(iclient, ALERTS, target="channel:fanout")
    assert r.json() == {
        "error": "channel fanout binding resolves to tag:x; "
        "integration channel targets must resolve to one backend agent"
    }
    await iclient.post("/api/channel-bindings", json={"channelId": "pool", "target": "pool:empty"})
    r = await _event(iclient, ALERTS, target="channel:pool")
    assert r.json() == {"error": "pool slot is unclaimed — no eligible agent available"}
    await iclient.post("/api/channel-bindings", json={"channelId": "orch", "target": "orchestrator:o1"})
    r = await _event(iclient, ALERTS, target="channel:orch")
    assert r.json() == {"error": "orchestrator channel targets are not supported yet"}

    binding = (await iclient.post("/api/channel-bindings", json={"channelId": "ops", "target": "backend"})).json()
    r = await _event(iclient, ALERTS, target="channel:ops", metadata={"host": "db1"})
    assert r.status_code == 201
    task = r.json()["task"]
    assert (task["target"], task["channel"]) == ("backend", "ops")
    assert task["metadata"] == {
        "host": "db1",
        "relayRequestedTarget": "channel:ops",
        "relayResolvedChannelId": "ops",
        "relayResolvedChannelBindingId": binding["id"],
    }


async def test_rate_limit(redis: Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from relay_api.app import create_app
    from relay_api.controllers import integrations as controller

    # One fixed clock minute, so the count cannot straddle two windows.
    monkeypatch.setattr(controller, "now_ms", lambda: 1_700_000_010_000)

    settings = Settings(
        redis_url=redis_url, admin_token=ADMIN_TOKEN, integrations=INTEGRATIONS, integration_rate_limit_per_minute=3
    )
    async with AsyncTestClient(create_app(settings)) as c:
        codes = [(await _event(c, OPEN, target="x")).status_code for _ in range(3)]
        assert codes == [201, 201, 201]
        r = await _event(c, OPEN, target="x")
        assert (r.status_code, r.json()) == (429, {"error": "integration rate limit exceeded"})
        assert r.headers["retry-after"] == "30"
        # Counted per integration.
        assert (await _event(c, ALERTS, target="backend")).status_code == 201


async def test_broadcast_and_deliveries_need_their_scopes(iclient: AsyncTestClient) -> None:  # type: ignore[type-arg]
    r = await iclient.post("/api/system/broadcast", json={"body": "x"}, headers=bearer(OPEN))
    assert (r.status_code, r.json()) == (403, {"error": "token lacks scope system:admin"})
    r = await iclient.get("/api/integrations/deliveries", headers=bearer(OPEN))
    assert r.status_code == 403
    r = await iclient.get("/api/integrations/deliveries?status=lost")
    assert r.json() == {"error": "status must be one of: pending, delivered, failed"}
    r = await iclient.get("/api/integrations/deliveries?limit=0")
    assert r.json() == {"error": "limit must be an integer between 1 and 500"}


async def test_api_tasks_cannot_pose_as_an_integration(iclient: AsyncTestClient) -> None:  # type: ignore[type-arg]
    r = await iclient.post("/api/tasks", json={"title": "x", "source": "alerts"})
    assert (r.status_code, r.json()) == (
        400,
        {"error": "source alerts is an integration; post its events to /api/integrations/events"},
    )
    wildcard = Integration(name="wild", token="wild-token-0123456789", scopes=("*",))
    from relay_api.controllers.integrations import integration_resolver

    principal = await integration_resolver((wildcard,))(wildcard.token)
    assert principal is not None and principal.has("integrations:write") and not principal.has("agents:read")

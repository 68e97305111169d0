"""Configured integrations are rate limited like every other token: each request they make counts
against the integration role's per-minute limit, per integration, across nodes (in Redis)."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from relay_model.settings import DEFAULT_RATE_PER_MINUTE, Integration, Settings
from tests.conftest import ADMIN_TOKEN, AUTH
from tests.security.conftest import bearer

ALERTS = Integration(name="alerts", token="alerts-token-0123456789", scopes=("tasks:write", "tasks:read"))
CI = Integration(name="ci", token="ci-token-0123456789abcdef", scopes=("tasks:write",))


async def test_every_request_of_an_integration_counts(
    redis: Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relay_api.app import create_app
    from relay_model.auth import tokens

    # One fixed clock minute, so the count cannot straddle two windows.
    monkeypatch.setattr(tokens, "now_ms", lambda: 1_700_000_010_000)
    settings = Settings(
        redis_url=redis_url,
        admin_token=ADMIN_TOKEN,
        integrations=(ALERTS, CI),
        rate_limits={**DEFAULT_RATE_PER_MINUTE, "integration": 3},
    )
    async with AsyncTestClient(create_app(settings)) as c:
        alerts = bearer(ALERTS.token)
        codes = [(await c.get("/api/tasks", headers=alerts)).status_code for _ in range(3)]
        assert codes == [200, 200, 200]
        # Any route, events included: the fourth request of the minute is refused before it runs.
        event = {"target": "backend", "title": "disk full"}
        for method, path, body in (("GET", "/api/tasks", None), ("POST", "/api/integrations/events", event)):
            r = await c.request(method, path, json=body, headers=alerts)
            assert (r.status_code, r.json()) == (429, {"error": "rate limit exceeded: 3 requests per minute"})
            assert r.headers["retry-after"] == "30"
        assert (await c.get("/api/tasks", headers=AUTH)).json() == []
        # Counted per integration; the admin token keeps its own (unlimited) budget.
        assert (await c.post("/api/integrations/events", json=event, headers=bearer(CI.token))).status_code == 201
        assert [(await c.get("/api/tasks", headers=AUTH)).status_code for _ in range(5)] == [200] * 5

"""Token checks on every /api route, the public health route, and the served OpenAPI schema."""

from __future__ import annotations

import re

from litestar.testing import AsyncTestClient

from relay_api.app import create_app
from relay_model.settings import Settings
from tests.conftest import ADMIN_TOKEN

Client = AsyncTestClient  # type: ignore[type-arg]


def api_routes(settings: Settings) -> list[tuple[str, str]]:
    app = create_app(settings)
    out = []
    for route in app.routes:
        if not route.path.startswith("/api"):
            continue
        for method in getattr(route, "methods", []):
            if method not in ("OPTIONS", "HEAD"):
                out.append((method, route.path))
    return sorted(out)


async def test_every_api_route_but_health_needs_a_token(client: Client, settings: Settings) -> None:
    routes = api_routes(settings)
    assert ("GET", "/api/events") in routes and ("POST", "/api/messages") in routes
    for method, path in routes:
        url = re.sub(r"\{\w+:int\}", "1", re.sub(r"\{\w+:(str|path)\}", "a", path))
        if path == "/api/health":
            continue
        r = await client.request(method, url, headers={"Authorization": ""})
        assert (r.status_code, r.json()) == (401, {"error": "authentication required"}), (method, path)
        r = await client.request(method, url, headers={"Authorization": "Bearer wrong"})
        assert (r.status_code, r.json()) == (401, {"error": "invalid token"}), (method, path)
        r = await client.request(method, url, headers={"Authorization": "", "X-Agent-Relay-Token": "wrong"})
        assert r.status_code == 401, (method, path)


async def test_both_token_headers_work_and_health_is_public(client: Client) -> None:
    r = await client.get("/api/agents", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert r.status_code == 200
    r = await client.get("/api/agents", headers={"Authorization": "", "X-Agent-Relay-Token": ADMIN_TOKEN})
    assert r.status_code == 200
    r = await client.get("/api/agents", headers={"Authorization": f"bearer {ADMIN_TOKEN}"})
    assert r.status_code == 200
    r = await client.get("/api/agents", headers={"Authorization": f"Basic {ADMIN_TOKEN}"})
    assert r.status_code == 401
    r = await client.get("/api/health", headers={"Authorization": ""})
    assert r.status_code == 200
    health = r.json()
    assert health["ok"] is True and health["version"] == "0.10.0" and health["redis"] == {"ok": True}
    assert health["counts"]["agents"] == 2 and health["counts"]["agentsByStatus"]["online"] == 2
    assert isinstance(health["uptimeMs"], int)
    assert (await client.get("/healthz", headers={"Authorization": ""})).json() == {"ok": True}
    assert (await client.get("/readyz", headers={"Authorization": ""})).json() == {"ok": True}


async def test_an_app_without_admin_token_lets_nobody_in(settings: Settings, redis_url: str) -> None:
    app = create_app(Settings(redis_url=redis_url, admin_token=""))
    async with AsyncTestClient(app) as c:
        r = await c.get("/api/agents", headers={"Authorization": "Bearer "})
        assert r.status_code == 401
        r = await c.get("/api/agents", headers={"X-Agent-Relay-Token": ""})
        assert r.status_code == 401


async def test_openapi_schema_lists_every_api_route(client: Client, settings: Settings) -> None:
    r = await client.get("/schema/openapi.json", headers={"Authorization": ""})
    assert r.status_code == 200
    schema = r.json()
    assert schema["info"]["title"] == "Agent Relay"
    paths = schema["paths"]
    for method, path in api_routes(settings):
        openapi_path = re.sub(r"\{(\w+):\w+\}", r"{\1}", path)
        assert openapi_path in paths, path
        assert method.lower() in paths[openapi_path], (method, path)
    send = paths["/api/messages"]["post"]
    assert "Message" in str(send["responses"]["201"]) and "SendMessageInput" in str(send["requestBody"])

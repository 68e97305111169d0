"""Real relay processes for the client, MCP and CLI tests.

`relay_node` is one `relay serve` node and one `relay worker` on the session's test Redis, shared
by the package (nodes hold no state; each test's `redis` fixture flushes the data). Tests that kill a
node start their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ADMIN_TOKEN
from tests.procs import ApiNode, api_nodes, relay_env, workers
from tests.security.conftest import TOKEN_SECRET

pytestmark = pytest.mark.multinode

# Short keep-alives so streams notice a dead node quickly; tokens can be issued.
NODE_ENV = {"AGENT_RELAY_SSE_KEEPALIVE_S": "0.5", "AGENT_RELAY_TOKEN_SECRET": TOKEN_SECRET}


def node_env(redis_url: str, **extra: str) -> dict[str, str]:
    return relay_env(redis_url, ADMIN_TOKEN, **NODE_ENV, **extra)


@pytest.fixture(scope="package")
def relay_node(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiNode]:
    tmp: Path = tmp_path_factory.mktemp("relay")
    env = node_env(redis_url)
    with api_nodes(1, env, tmp) as nodes, workers(1, env, tmp):
        yield nodes[0]


@pytest.fixture
def url(relay_node: ApiNode, redis: object) -> str:
    """The node's URL, on a freshly flushed Redis (the `redis` fixture flushes it)."""
    return relay_node.url

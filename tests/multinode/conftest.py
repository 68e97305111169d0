"""Two real `relay serve` nodes on the shared test Redis (module-scoped: nodes hold no state)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import ADMIN_TOKEN
from tests.procs import ApiNode, api_nodes, relay_env

pytestmark = pytest.mark.multinode

# Short keep-alives so tests see them; the queue default is kept (the slow-client test starts its own node).
NODE_ENV = {"AGENT_RELAY_SSE_KEEPALIVE_S": "0.3"}


@pytest.fixture(scope="module")
def nodes(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ApiNode]]:
    env = relay_env(redis_url, ADMIN_TOKEN, **NODE_ENV)
    with api_nodes(2, env, tmp_path_factory.mktemp("nodes")) as started:
        yield started

"""Two real `relay serve` nodes on the shared test Redis, and on the test Redis Cluster (module-scoped:
nodes hold no state; `tier` runs each module that uses them once per data tier)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import ADMIN_TOKEN, DataTier
from tests.procs import ApiNode, api_nodes

pytestmark = pytest.mark.multinode

# Short keep-alives so tests see them; the queue default is kept (the slow-client test starts its own node).
NODE_ENV = {"AGENT_RELAY_SSE_KEEPALIVE_S": "0.3", "AGENT_RELAY_TOKEN_SECRET": "multinode-token-secret-0123456789abcdef"}


@pytest.fixture(scope="module")
def nodes(tier: DataTier, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ApiNode]]:
    env = tier.env(ADMIN_TOKEN, **NODE_ENV)
    with api_nodes(2, env, tmp_path_factory.mktemp("nodes")) as started:
        yield started

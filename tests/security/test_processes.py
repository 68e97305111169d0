"""Security behaviour across real `relay serve` processes: revocation seen by every node at once, and
SSE connections counted per token across nodes. (The `relay token` CLI: tests/client/test_cli.py.)"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from tests.conftest import ADMIN_TOKEN
from tests.procs import ApiNode, api_nodes, relay_env
from tests.security.conftest import TOKEN_SECRET, bearer

pytestmark = pytest.mark.multinode

ADMIN = bearer(ADMIN_TOKEN)


@pytest.fixture
def two_nodes(redis: Redis, redis_url: str, tmp_path: Path) -> Iterator[list[ApiNode]]:
    env = relay_env(
        redis_url,
        ADMIN_TOKEN,
        AGENT_RELAY_TOKEN_SECRET=TOKEN_SECRET,
        AGENT_RELAY_SSE_MAX_PER_TOKEN="2",
        AGENT_RELAY_SSE_KEEPALIVE_S="1",
    )
    with api_nodes(2, env, tmp_path) as nodes:
        yield nodes


def test_token_revoked_on_one_node_is_refused_by_the_other_at_once(two_nodes: list[ApiNode]) -> None:
    a, b = two_nodes
    issued = httpx.post(a.url + "/api/tokens", json={"role": "viewer"}, headers=ADMIN, timeout=5).json()
    token = bearer(issued["token"])
    assert httpx.get(b.url + "/api/agents", headers=token, timeout=5).status_code == 200
    assert httpx.post(a.url + f"/api/tokens/{issued['jti']}/revoke", headers=ADMIN, timeout=5).status_code == 200
    r = httpx.get(b.url + "/api/agents", headers=token, timeout=5)
    assert (r.status_code, r.json()) == (401, {"error": "token revoked"})
    r = httpx.get(a.url + "/api/agents", headers=token, timeout=5)
    assert (r.status_code, r.json()) == (401, {"error": "token revoked"})


def test_event_streams_are_counted_per_token_across_nodes(two_nodes: list[ApiNode]) -> None:
    a, b = two_nodes
    token = bearer(httpx.post(a.url + "/api/tokens", json={"role": "viewer"}, headers=ADMIN, timeout=5).json()["token"])
    other = bearer(httpx.post(a.url + "/api/tokens", json={"role": "viewer"}, headers=ADMIN, timeout=5).json()["token"])
    timeout = httpx.Timeout(5.0)
    with ExitStack() as streams, httpx.Client(timeout=timeout) as http:
        readers = []
        for node in (a, b):
            response = streams.enter_context(http.stream("GET", node.url + "/api/events", headers=token))
            assert response.status_code == 200
            # Read the opening comment: the stream (and its lease) is established. The reader is kept:
            # dropping it would close the response.
            readers.append(response.iter_lines())
            assert next(readers[-1]).startswith(":")
        with http.stream("GET", b.url + "/api/events", headers=token) as r:
            assert r.status_code == 429
            r.read()
        assert r.json() == {"error": "too many open event streams for this token (at most 2)"}
        assert int(r.headers["retry-after"]) >= 1
        # Another token has its own allowance.
        with http.stream("GET", a.url + "/api/events", headers=other) as response:
            assert response.status_code == 200
    # Closed streams give their slots back (once each node has seen its client go).
    deadline = time.monotonic() + 10
    status = 0
    while status != 200 and time.monotonic() < deadline:
        with httpx.Client(timeout=timeout) as http, http.stream("GET", b.url + "/api/events", headers=token) as r:
            status = r.status_code
    assert status == 200

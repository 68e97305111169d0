"""An orchestrator's `apiUrl` is an http(s) origin checked at registration (400), the proxied path is
the relay's own, and no `apiUrl` or upstream answer makes the directory proxy fail with a 500."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from relay_model import keys
from relay_model.relay import Relay
from tests.integration.test_directories_api import upstream

ORIGIN = "apiUrl must be an origin: http(s)://host[:port], without a path, query, fragment or user info"


@pytest.mark.parametrize(
    ("api_url", "text"),
    [
        ("http://[::1", "apiUrl is not a valid URL: Invalid IPv6 URL"),
        ("http://0177.0.0.1:4851", "apiUrl is not a valid URL: Invalid IPv4 address: '0177.0.0.1'"),
        ("http://127.0.0.1:99999", "apiUrl is not a valid URL: Port out of range 0-65535"),
        ("http://127.0.0.1:0", "apiUrl is not a valid URL: port 0"),
        ("http://127.0.0.1:4851/other#", ORIGIN),
        ("http://127.0.0.1:4851/other", ORIGIN),
        ("http://127.0.0.1:4851?x=", ORIGIN),
        ("http://127.0.0.1:4851#", ORIGIN),
        ("http://127.0.0.1:4851/..", ORIGIN),
        ("http://user:pw@127.0.0.1:4851", ORIGIN),
        ("http://127.0.0.1:4851\\@evil", ORIGIN),
        ("http:// 127.0.0.1", ORIGIN),
        ("gopher://127.0.0.1", "apiUrl must be an http or https URL"),
        ("http://", "apiUrl must be an http or https URL"),
    ],
)
async def test_register_refuses_what_is_not_an_origin(client: AsyncTestClient, api_url: str, text: str) -> None:  # type: ignore[type-arg]
    r = await client.post("/api/orchestrators", json={"id": "o1", "hostname": "h", "apiUrl": api_url})
    assert (r.status_code, r.json()) == (400, {"error": text})
    assert (await client.get("/api/orchestrators/o1")).status_code == 404


async def test_origins_are_accepted(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    for api_url, stored in (
        ("http://127.0.0.1:4851/", "http://127.0.0.1:4851"),
        ("https://[::1]:8443", "https://[::1]:8443"),
        ("http://orchestrator.internal", "http://orchestrator.internal"),
    ):
        r = await client.post("/api/orchestrators", json={"id": "o1", "hostname": "h", "apiUrl": api_url})
        assert r.status_code in (200, 201) and r.json()["apiUrl"] == stored


async def _stored_api_url(client: AsyncTestClient, relay: Relay, api_url: str) -> None:  # type: ignore[type-arg]
    """A record as an older node might have stored it, bypassing today's validation."""
    assert (await client.post("/api/orchestrators", json={"id": "o1", "hostname": "h"})).status_code == 201
    orch = (await client.get("/api/orchestrators/o1")).json()
    raw = (await relay.redis.hget(keys.orchestrator("o1"), "json")) or ""  # type: ignore[misc]
    assert '"apiUrl":null' in raw and orch["apiUrl"] is None
    await relay.redis.hset(keys.orchestrator("o1"), "json", raw.replace('"apiUrl":null', f'"apiUrl":"{api_url}"'))  # type: ignore[misc]


@pytest.mark.parametrize(
    ("api_url", "why"),
    [
        ("http://0177.0.0.1:4851", "apiUrl is not a valid URL: Invalid IPv4 address: '0177.0.0.1'"),
        ("http://[::1", "apiUrl is not a valid URL: Invalid IPv6 URL"),
        ("http://127.0.0.1:4851/other#", ORIGIN),
    ],
)
async def test_a_stored_bad_api_url_is_a_clear_502(
    client: AsyncTestClient,  # type: ignore[type-arg]
    relay: Relay,
    api_url: str,
    why: str,
) -> None:
    await _stored_api_url(client, relay, api_url)
    r = await client.get("/api/orchestrators/o1/directories")
    assert (r.status_code, r.json()) == (502, {"error": f"Failed to reach orchestrator API: {why}"})


async def test_an_upstream_status_outside_http_is_a_clear_502(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    with upstream("status999") as url:
        await client.post("/api/orchestrators", json={"id": "o1", "hostname": "h", "apiUrl": url})
        r = await client.get("/api/orchestrators/o1/directories")
    assert (r.status_code, r.json()) == (502, {"error": "Failed to reach orchestrator API: invalid HTTP status 999"})

"""Wire details where the seed (routes.ts) answers differently from a plain struct decoder: bodies
that are null, fields sent as null (the seed refuses everything but `undefined`), the order in which
fields are checked, and filters with unknown values. Every refusal stores nothing."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from relay_model.settings import Settings
from tests.conftest import ADMIN_TOKEN

Client = AsyncTestClient  # type: ignore[type-arg]


@pytest.fixture
def settings(redis_url: str) -> Settings:
    return Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN, token_secret="wire-token-secret-0123456789abcdefghij")


async def _raw(client: Client, method: str, path: str, body: bytes) -> Any:
    return await client.request(method, path, content=body, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("/api/agents/a1/status", "status required"),
        ("/api/agents/a1/label", "label field required (string or null)"),
        ("/api/agents/a1/tags", "tags field required"),
    ],
)
@pytest.mark.parametrize("body", [b"null", b"[]"])
async def test_agent_patches_without_an_object_answer_the_field_texts(
    client: Client, path: str, text: str, body: bytes
) -> None:
    await client.post("/api/agents", json={"id": "a1", "label": "keep", "tags": ["t"]})
    before = (await client.get("/api/agents/a1")).json()
    r = await _raw(client, "PATCH", path, body)
    assert (r.status_code, r.json()) == (400, {"error": text})
    assert (await client.get("/api/agents/a1")).json() == before


@pytest.mark.parametrize("body", [b"null", b"[]", b'"x"', b"7", b"{}"])
async def test_orchestrator_heartbeat_reads_a_non_object_as_empty(client: Client, body: bytes) -> None:
    await client.post("/api/orchestrators", json={"id": "o1", "hostname": "h", "version": "1.0"})
    r = await _raw(client, "POST", "/api/orchestrators/o1/heartbeat", body)
    assert (r.status_code, r.json()) == (200, {"ok": True})
    assert (await client.get("/api/orchestrators/o1")).json()["version"] == "1.0"


@pytest.mark.parametrize(
    ("method", "path", "body", "text"),
    [
        ("POST", "/api/orchestrators", {"id": "o9", "hostname": "h", "protocolVersion": None},
         "protocolVersion must be a positive integer"),
        ("POST", "/api/orchestrators/o1/heartbeat", {"protocolVersion": None},
         "protocolVersion must be a positive integer"),
        ("POST", "/api/commands", {"type": "x", "source": "a", "target": "b", "ttlMs": None},
         "ttlMs must be a positive integer"),
        ("POST", "/api/tokens", {"role": "viewer", "ttlSeconds": None}, "ttlSeconds must be a positive integer"),
        ("PUT", "/api/providers/claude/config", {"command": "claude", "env": None}, "env must be an object"),
        ("PUT", "/api/providers/claude/config", {"command": "claude", "headless": {"shutdownTimeoutMs": None}},
         "headless.shutdownTimeoutMs must be a positive integer"),
        # Validation order as the seed's: role before ttlSeconds, env before headless.
        ("POST", "/api/tokens", {"ttlSeconds": 0}, "role required"),
        ("PUT", "/api/providers/claude/config",
         {"command": "claude", "headless": {"shutdownTimeoutMs": 0}, "env": {"K": 1}}, "env.K must be a string"),
        ("POST", "/api/recipes/start", None, "recipe name required"),
    ],
)
async def test_null_fields_and_check_order(client: Client, method: str, path: str, body: Any, text: str) -> None:
    await client.post("/api/orchestrators", json={"id": "o1", "hostname": "h", "protocolVersion": 2})
    state = [(await client.get(p)).json() for p in ("/api/orchestrators", "/api/commands", "/api/tokens")]
    config = (await client.get("/api/providers/claude/config")).json()
    r = await (client.request(method, path, json=body) if body is not None else _raw(client, method, path, b"null"))
    assert (r.status_code, r.json()) == (400, {"error": text})
    assert [(await client.get(p)).json() for p in ("/api/orchestrators", "/api/commands", "/api/tokens")] == state
    assert (await client.get("/api/providers/claude/config")).json() == config


async def test_absent_fields_still_take_their_defaults(client: Client) -> None:
    r = await client.post("/api/commands", json={"type": "x", "source": "a", "target": "b"})
    assert (r.status_code, r.json()["ttlMs"]) == (201, None)
    r = await client.post("/api/tokens", json={"role": "viewer"})
    token = r.json()
    assert r.status_code == 201 and token["expiresAt"] // 1000 - token["createdAt"] // 1000 == 90 * 86400
    r = await client.put("/api/providers/codex/config", json={"command": "codex", "headless": {}})
    assert r.status_code == 200 and r.json()["env"] == {} and r.json()["headless"]["shutdownTimeoutMs"] == 10_000
    r = await client.post("/api/orchestrators", json={"id": "o1", "hostname": "h"})
    assert (r.status_code, r.json()["protocolVersion"]) == (201, None)


@pytest.mark.parametrize("path", ["/api/recipes/instances?status=bogus", "/api/automation-runs?status=bogus"])
async def test_unknown_status_filters_match_nothing(client: Client, path: str) -> None:
    r = await client.get(path)
    assert (r.status_code, r.json()) == (200, [])


async def test_the_schema_documents_every_success_code(client: Client) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    for path, method, codes in (
        ("/api/agents", "post", {"200", "201"}),
        ("/api/orchestrators", "post", {"200", "201"}),
        ("/api/connectors/{connector_id}", "put", {"200", "201"}),
        ("/api/messages", "post", {"200", "201"}),
        ("/api/activity", "post", {"200", "201"}),
    ):
        assert codes <= set(paths[path][method]["responses"]), (path, method)
    duplicate = paths["/api/activity"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert duplicate == {"$ref": "#/components/schemas/Duplicate"}

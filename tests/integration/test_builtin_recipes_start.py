"""Every built-in recipe starts with exactly what the original's clients send: {name, cwd, orchestratorId,
startedBy} — no `parameters` — and its first commands read well with the parameters' defaults."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from relay_model.recipes.loader import RecipeCatalog
from relay_model.settings import Settings
from tests.conftest import AUTH

BUILTINS = ["code-review", "debug", "feature", "refactor", "test"]


@pytest.fixture
async def client(redis: Redis, redis_url: str) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    from relay_api.app import create_app

    async with AsyncTestClient(create_app(Settings(redis_url=redis_url, admin_token="test-admin-token"))) as c:
        c.headers.update(AUTH)
        r = await c.post("/api/orchestrators", json={"id": "h1", "hostname": "devbox", "baseDir": "/home/dev"})
        assert r.status_code == 201
        yield c


def test_no_builtin_declares_a_parameter_without_a_default() -> None:
    for name in BUILTINS:
        recipe = RecipeCatalog().get(name).recipe
        assert recipe.parameters, name
        assert all(p.default for p in recipe.parameters), name


@pytest.mark.parametrize("name", BUILTINS)
async def test_builtin_starts_with_the_seed_fields(client: AsyncTestClient, name: str) -> None:  # type: ignore[type-arg]
    body = {"name": name, "cwd": "/home/dev/app", "orchestratorId": "h1", "startedBy": "dashboard"}
    r = await client.post("/api/recipes/start", json=body)
    assert r.status_code == 202, r.text
    run = r.json()
    instance = run["instance"]
    assert instance["status"] == "running" and instance["startedBy"] == "dashboard"
    assert instance["cwd"] == "/home/dev/app" and instance["orchestratorId"] == "h1"
    recipe = RecipeCatalog().get(name).recipe
    # Each declared parameter took its default, so no `{{placeholder}}` and no empty slot is left.
    assert instance["parameters"] == {p.name: p.default for p in recipe.parameters}
    assert run["commands"], name
    for command in run["commands"]:
        assert command["type"] == "agent.spawn" and command["target"] == "orchestrator:h1"
        prompt = command["params"].get("prompt", "")
        assert "{{" not in prompt and "/home/dev/app" in prompt
    # The steps after the spawns render the defaults into their prompts.
    listed = (await client.get(f"/api/recipes/{name}")).json()["recipe"]
    first_param = recipe.parameters[0]
    uses = [s for s in listed["steps"] if "{{" + first_param.name + "}}" in (s.get("prompt") or "")]
    assert uses, f"{name}: no step uses {first_param.name}"


async def test_a_user_recipe_may_still_require_a_parameter(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    inline = {
        "name": "needs-goal",
        "parameters": [{"name": "goal", "required": True}],
        "roles": {"dev": {"provider": "claude"}},
        "steps": [{"id": "spawn-dev", "role": "dev", "action": "spawn"}],
    }
    r = await client.post("/api/recipes/start", json={"recipe": inline, "orchestratorId": "h1"})
    assert (r.status_code, r.json()) == (400, {"error": 'parameter "goal" required'})

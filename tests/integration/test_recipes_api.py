"""Recipes over HTTP against a real Redis: the catalogue, and instances driven through their commands."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from relay_model.clock import now_ms
from relay_model.relay import Relay
from relay_model.settings import Settings
from tests.conftest import AUTH

PAIR = """
name: pair
parameters:
  - {name: goal, required: true}
roles:
  dev: {provider: codex, prompt: "You build {{goal}} in {{cwd}}"}
  qa: {provider: claude, approvalMode: read-only}
steps:
  - {id: spawn-dev, role: dev, action: spawn}
  - {id: spawn-qa, role: qa, action: spawn}
  - {id: build, role: dev, action: prompt, needs: [spawn-dev], prompt: "Build {{goal}}"}
  - {id: check, role: qa, action: task, needs: [build, spawn-qa], task: {title: "Check {{goal}}"}, onFailure: retry 1}
  - {id: lint, role: qa, action: prompt, needs: [spawn-qa], prompt: lint, onFailure: continue, timeoutMs: 5000}
"""


@pytest.fixture
async def rclient(redis: Redis, redis_url: str, tmp_path: Path) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    from relay_api.app import create_app

    (tmp_path / "pair.yaml").write_text(PAIR)
    settings = Settings(redis_url=redis_url, admin_token="test-admin-token", user_recipes_dir=str(tmp_path))
    async with AsyncTestClient(create_app(settings)) as c:
        c.headers.update(AUTH)
        await c.post("/api/orchestrators", json={"id": "o1", "hostname": "devbox", "baseDir": "/home/dev"})
        yield c


async def _instance(client: AsyncTestClient, instance_id: str) -> dict[str, Any]:  # type: ignore[type-arg]
    r = await client.get(f"/api/recipes/instances/{instance_id}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _open_commands(instance: dict[str, Any]) -> dict[str, str]:
    """step id -> the command it is waiting for."""
    return {s["id"]: s["commandIds"][-1] for s in instance["steps"] if s["status"] == "running"}


async def _finish(client: AsyncTestClient, command_id: str, status: str = "succeeded", **body: Any) -> dict[str, Any]:  # type: ignore[type-arg]
    r = await client.patch(f"/api/commands/{command_id}", json={"status": status, **body})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_catalogue_and_texts(rclient: AsyncTestClient) -> None:  # type: ignore[type-arg]
    listed = (await rclient.get("/api/recipes")).json()
    assert [r["name"] for r in listed] == ["code-review", "debug", "feature", "pair", "refactor", "test"]
    assert {r["name"]: r["source"] for r in listed}["pair"] == "user"
    one = (await rclient.get("/api/recipes/feature")).json()
    assert one["name"] == "feature" and one["source"] == "builtin" and one["recipe"]["roles"]["planner"]["provider"]
    r = await rclient.get("/api/recipes/nope")
    assert (r.status_code, r.json()) == (404, {"error": "recipe not found"})
    for body, text in [
        ([1], "recipe name required"),
        ({}, "name required"),
        ({"name": "nope"}, "recipe not found"),
        ({"name": "pair"}, 'parameter "goal" required'),
        ({"name": "pair", "parameters": {"goal": "x", "extra": 1}}, 'unknown parameter "extra" for recipe pair'),
        ({"name": "pair", "parameters": {"goal": "x"}, "orchestratorId": "zz"}, "orchestrator not found"),
        ({"name": "pair", "cwd": "x" * 501}, "cwd must be at most 500 characters"),
    ]:
        r = await rclient.post("/api/recipes/start", json=body)
        assert (r.status_code, r.json()) == (400, {"error": text}), body
    r = await rclient.get("/api/recipes/instances/nope")
    assert (r.status_code, r.json()) == (404, {"error": "recipe instance not found"})
    r = await rclient.post("/api/recipes/instances/nope/stop")
    assert (r.status_code, r.json()) == (404, {"error": "recipe instance not found"})
    # An unknown status filters like any other, as in the seed: nothing matches.
    r = await rclient.get("/api/recipes/instances?status=done")
    assert (r.status_code, r.json()) == (200, [])
    r = await rclient.get("/api/recipes/instances?limit=0")
    assert r.json() == {"error": "limit must be an integer between 1 and 500"}


async def test_no_orchestrator_for_provider(rclient: AsyncTestClient) -> None:  # type: ignore[type-arg]
    await rclient.delete("/api/orchestrators/o1")
    await rclient.post("/api/orchestrators", json={"id": "o2", "hostname": "h", "providers": ["codex"]})
    r = await rclient.post("/api/recipes/start", json={"name": "feature", "parameters": {"goal": "x"}})
    assert (r.status_code, r.json()) == (400, {"error": "no orchestrator available for provider: claude"})
    assert (await rclient.get("/api/recipes/instances")).json() == []


async def test_feature_runs_to_success_through_command_updates(rclient: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    r = await rclient.post(
        "/api/recipes/start",
        json={"name": "feature", "cwd": "/src/app", "startedBy": "alice", "parameters": {"goal": "dark mode"}},
    )
    assert r.status_code == 202, r.text
    started = r.json()
    instance = started["instance"]
    assert instance["status"] == "running" and instance["recipeName"] == "feature"
    assert instance["parameters"] == {"goal": "dark mode", "testCommand": "make test"}
    (spawn,) = started["commands"]
    assert spawn["type"] == "agent.spawn" and spawn["target"] == "orchestrator:o1" and spawn["status"] == "pending"
    assert spawn["params"]["provider"] == "claude" and spawn["params"]["approvalMode"] == "read-only"
    assert spawn["params"]["cwd"] == "/src/app" and "/src/app" in spawn["params"]["prompt"]
    assert spawn["correlationId"] == instance["id"] and spawn["ttlMs"] == 300000
    seen: list[dict[str, Any]] = []
    for _ in range(30):
        instance = await _instance(rclient, instance["id"])
        if instance["status"] != "running":
            break
        open_ = _open_commands(instance)
        assert open_, instance
        for command_id in open_.values():
            command = (await rclient.get(f"/api/commands/{command_id}")).json()
            seen.append(command)
            result = {"agentId": f"real-{command['params']['role']}"} if command["type"] == "agent.spawn" else {}
            await _finish(rclient, command_id, result=result)
    assert instance["status"] == "succeeded" and instance["endedAt"]
    assert all(s["status"] == "succeeded" and len(s["commandIds"]) == 1 for s in instance["steps"])
    assert len(seen) == len(instance["steps"]) == 12
    assert instance["agents"] == {r: f"real-{r}" for r in ("planner", "implementer", "reviewer", "tester")}
    # Later commands address the agent the spawn reported, and carry the step's prompt.
    plan = next(c for c in seen if c["params"]["recipeStepId"] == "plan")
    assert (
        plan["type"] == "agent.prompt" and plan["target"] == "real-planner" and "dark mode" in plan["params"]["prompt"]
    )
    test = next(c for c in seen if c["params"]["recipeStepId"] == "test")
    assert test["type"] == "task.create" and test["params"]["title"] == "Test the feature: dark mode"
    down = next(c for c in seen if c["params"]["recipeStepId"] == "shutdown-tester")
    assert down["type"] == "agent.shutdown" and down["target"] == "real-tester"
    assert [i["id"] for i in (await rclient.get("/api/recipes/instances?status=succeeded")).json()] == [instance["id"]]
    titles = [a["title"] for a in (await rclient.get("/api/activity")).json()]
    assert "Recipe started" in titles
    types = [e.type for e in await relay.events.replay(_zero(), limit=1000) if e.type.startswith("recipe.")]
    assert types[0] == "recipe.started" and types[-1] == "recipe.completed" and "recipe.step" in types


def _zero():  # type: ignore[no-untyped-def]
    from relay_model import keys
    from relay_model.events import Cursor

    return Cursor({g: "0-0" for g in keys.EVENT_GROUPS})


async def _start_pair(client: AsyncTestClient) -> dict[str, Any]:  # type: ignore[type-arg]
    r = await client.post("/api/recipes/start", json={"name": "pair", "parameters": {"goal": "login"}, "cwd": "/w"})
    assert r.status_code == 202, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_retry_continue_and_failure(rclient: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    started = await _start_pair(rclient)
    iid = started["instance"]["id"]
    # Independent spawns start together; the planned agent ids are used when the result names none.
    assert sorted(c["params"]["recipeStepId"] for c in started["commands"]) == ["spawn-dev", "spawn-qa"]
    for command in started["commands"]:
        await _finish(rclient, command["id"])
    inst = await _instance(rclient, iid)
    assert inst["agents"] == {"dev": f"pair-dev-{iid[-8:]}", "qa": f"pair-qa-{iid[-8:]}"}
    open_ = _open_commands(inst)
    assert sorted(open_) == ["build", "lint"]
    # lint times out (ttl expiry through the reaper step) but may continue.
    await relay.commands.expire_due(now_ms() + 10_000)
    inst = await _instance(rclient, iid)
    lint = next(s for s in inst["steps"] if s["id"] == "lint")
    assert lint["status"] == "failed" and lint["error"].startswith("command timed out")
    # build was created without a timeout of its own (30 min default), so it is still running.
    assert _open_commands(inst) == {"build": open_["build"]}
    await _finish(rclient, open_["build"])
    check1 = _open_commands(await _instance(rclient, iid))["check"]
    await _finish(rclient, check1, "failed", error="tests red")
    inst = await _instance(rclient, iid)
    check = next(s for s in inst["steps"] if s["id"] == "check")
    assert check["status"] == "running" and check["attempt"] == 2 and len(check["commandIds"]) == 2
    # The second failure exhausts `retry 1`: the instance fails and winds down.
    await rclient.delete(f"/api/commands/{check['commandIds'][1]}")
    inst = await _instance(rclient, iid)
    assert inst["status"] == "failed" and inst["error"] == "step check failed: command canceled"
    assert len(inst["cleanupCommandIds"]) == 2
    downs = [(await rclient.get(f"/api/commands/{c}")).json() for c in inst["cleanupCommandIds"]]
    assert sorted(d["target"] for d in downs) == sorted(inst["agents"].values())
    assert all(d["type"] == "agent.shutdown" and d["status"] == "pending" for d in downs)
    # A late update of an old command changes nothing.
    r = await rclient.patch(f"/api/commands/{check1}", json={"status": "succeeded"})
    assert r.status_code == 409
    assert (await _instance(rclient, iid))["status"] == "failed"


async def test_stop_mid_run(rclient: AsyncTestClient) -> None:  # type: ignore[type-arg]
    started = await _start_pair(rclient)
    iid = started["instance"]["id"]
    dev_spawn = next(c for c in started["commands"] if c["params"]["role"] == "dev")
    qa_spawn = next(c for c in started["commands"] if c["params"]["role"] == "qa")
    await _finish(rclient, dev_spawn["id"], result={"agentId": "dev-1"})
    build = _open_commands(await _instance(rclient, iid))["build"]
    r = await rclient.post(f"/api/recipes/instances/{iid}/stop", json={"stoppedBy": "bob"})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["instance"]["status"] == "stopped" and body["instance"]["stoppedBy"] == "bob"
    by_type = sorted((c["type"], c["target"], c["status"]) for c in body["commands"])
    assert by_type == [
        ("agent.prompt", "dev-1", "canceled"),
        ("agent.shutdown", "dev-1", "pending"),
        ("agent.spawn", "orchestrator:o1", "canceled"),
    ]
    assert {c["id"] for c in body["commands"] if c["status"] == "canceled"} == {build, qa_spawn["id"]}
    statuses = {s["id"]: s["status"] for s in body["instance"]["steps"]}
    assert statuses == {
        "spawn-dev": "succeeded",
        "spawn-qa": "canceled",
        "build": "canceled",
        "check": "canceled",
        "lint": "canceled",
    }
    r = await rclient.post(f"/api/recipes/instances/{iid}/stop")
    assert (r.status_code, r.json()) == (400, {"error": "recipe instance is not running (stopped)"})
    feed = (await rclient.get("/api/activity")).json()
    stop = next(a for a in feed if a["title"] == "Recipe stopped")
    assert stop["body"] == "pair" and stop["meta"] == iid and len(stop["metadata"]["commands"]) == 3


async def test_inline_recipe_and_recipe_automation(rclient: AsyncTestClient) -> None:  # type: ignore[type-arg]
    inline = {
        "name": "solo",
        "roles": {"dev": {"provider": "codex"}},
        "steps": [{"id": "s", "role": "dev", "action": "spawn"}],
    }
    r = await rclient.post("/api/recipes/start", json={"recipe": inline})
    assert r.status_code == 202 and r.json()["instance"]["recipeName"] == "solo"
    await _finish(rclient, r.json()["commands"][0]["id"])
    assert (await _instance(rclient, r.json()["instance"]["id"]))["status"] == "succeeded"
    r = await rclient.post("/api/recipes/start", json={"recipe": {**inline, "steps": []}})
    assert r.json() == {"error": "recipe: steps: must be a non-empty list"}
    # An automation can start a recipe and send a command.
    auto = (
        await rclient.post(
            "/api/automations",
            json={
                "name": "nightly",
                "trigger": {"type": "schedule", "cron": "0 3 * * *"},
                "action": {"type": "recipe", "recipe": {"name": "pair", "parameters": {"goal": "x"}}},
            },
        )
    ).json()
    body = (await rclient.post(f"/api/automations/{auto['id']}/run")).json()
    assert body["run"]["status"] == "succeeded" and body["instance"]["recipeName"] == "pair"
    assert body["instance"]["startedBy"] == f"automation:{auto['id']}"
    assert body["run"]["created"]["recipeInstanceId"] == body["instance"]["id"]
    assert len(body["run"]["created"]["commandIds"]) == 2
    listed = (await rclient.get("/api/recipes/instances")).json()
    assert [(i["recipeName"], i["status"]) for i in listed] == [("pair", "running"), ("solo", "succeeded")]
    assert [i["recipeName"] for i in (await rclient.get("/api/recipes/instances?status=running")).json()] == ["pair"]
    cmd_auto = await rclient.post(
        "/api/automations",
        json={
            "name": "ping",
            "trigger": {"type": "schedule", "cron": "0 3 * * *"},
            "action": {"type": "command", "command": {"type": "agent.ping", "source": "system", "target": "a1"}},
        },
    )
    body = (await rclient.post(f"/api/automations/{cmd_auto.json()['id']}/run")).json()
    assert body["command"]["type"] == "agent.ping" and body["run"]["created"]["commandId"] == body["command"]["id"]
    r = await rclient.post(
        "/api/automations",
        json={
            "name": "bad",
            "trigger": {"type": "schedule", "cron": "0 3 * * *"},
            "action": {"type": "command", "command": {"type": "x"}},
        },
    )
    assert r.json() == {"error": "action.command.source required"}


# A spawn step and one prompt step after it, and an online orchestrator `o1` to run them.
TWO_STEP: dict[str, Any] = {
    "name": "two",
    "roles": {"dev": {"provider": "codex"}},
    "steps": [
        {"id": "spawn", "role": "dev", "action": "spawn"},
        {"id": "work", "role": "dev", "action": "prompt", "needs": ["spawn"], "prompt": "go"},
    ],
}


async def _two_step_recipe_on_o1(relay: Relay) -> dict[str, Any]:
    from relay_model.agents.orchestrators import RegisterOrchestratorInput

    await relay.orchestrators.upsert(RegisterOrchestratorInput(id="o1", hostname="h"))
    return TWO_STEP


async def test_reaper_repairs_missed_hooks_and_abandoned_issues(relay: Relay) -> None:
    from relay_model.recipes.runner import RecipeStartInput
    from relay_model.relay import reap_once

    inline = await _two_step_recipe_on_o1(relay)
    started = await relay.recipes.start(RecipeStartInput(recipe=inline))
    iid = started.instance.id
    # The node that finishes the spawn dies before its hook runs: the step stays `running`.
    relay.commands.on_final.clear()
    await relay.commands.update(started.commands[0].id, status="succeeded")
    assert [s.status for s in (await relay.recipes.get(iid)).steps] == ["running", "waiting"]
    await reap_once(relay, audit=False)
    steps = (await relay.recipes.get(iid)).steps
    assert [s.status for s in steps] == ["succeeded", "running"] and len(steps[1].command_ids) == 1
    # A node marks a retry `issuing` and dies before creating the command: after 30 s another reissues it.
    work = steps[1].command_ids[0]
    await relay.commands.update(work, status="failed")
    await relay.recipes._run(iid, "apply", "work", "1", work, "failed", "", "")
    assert (await relay.recipes.get(iid)).status == "failed"  # no retries: fail is final, nothing to reissue
    inline["steps"][1]["onFailure"] = "retry 1"
    started = await relay.recipes.start(RecipeStartInput(recipe=inline))
    iid = started.instance.id
    await relay.commands.update(started.commands[0].id, status="succeeded")
    await relay.recipes.repair(now_ms())
    work = (await relay.recipes.get(iid)).steps[1].command_ids[0]
    await relay.commands.update(work, status="failed")
    await relay.recipes._run(iid, "apply", "work", "1", work, "failed", "", "")
    assert (await relay.recipes.get(iid)).steps[1].status == "issuing"
    assert await relay.recipes.repair(now_ms()) == 0  # too early: the issuing node may still be working
    assert await relay.recipes.repair(now_ms() + 31_000) == 1
    step = (await relay.recipes.get(iid)).steps[1]
    assert step.status == "running" and step.attempt == 2 and len(step.command_ids) == 2


async def test_reissue_after_a_crash_between_create_and_attach_yields_the_same_command(
    relay: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relay_model.recipes.runner import RecipeStartInput

    inline = await _two_step_recipe_on_o1(relay)
    started = await relay.recipes.start(RecipeStartInput(recipe=inline))
    iid = started.instance.id
    run = relay.recipes._run

    async def dies_before_attach(instance_id: str, op: str, *args: Any) -> list[Any]:
        if op == "attach":
            raise RuntimeError("node died")
        return await run(instance_id, op, *args)

    # The node finishing the spawn creates the next step's command and dies before recording it.
    monkeypatch.setattr(relay.recipes, "_run", dies_before_attach)
    await relay.commands.update(started.commands[0].id, status="succeeded")
    monkeypatch.setattr(relay.recipes, "_run", run)
    assert [s.status for s in (await relay.recipes.get(iid)).steps] == ["succeeded", "issuing"]
    (created,) = await relay.commands.list(type="agent.prompt")

    assert await relay.recipes.repair(now_ms() + 31_000) == 1
    step = (await relay.recipes.get(iid)).steps[1]
    assert step.status == "running" and step.command_ids == [created.id]
    assert [c.id for c in await relay.commands.list(type="agent.prompt")] == [created.id]


async def test_start_refuses_a_step_whose_command_would_be_too_large_and_stores_nothing(
    rclient: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    inline = {
        "name": "big",
        "parameters": [{"name": "goal", "required": True}],
        "roles": {"dev": {"provider": "codex"}},
        "steps": [
            {"id": "spawn", "role": "dev", "action": "spawn"},
            {"id": "work", "role": "dev", "action": "prompt", "needs": ["spawn"], "prompt": "{{goal}}" * 20},
        ],
    }
    r = await rclient.post("/api/recipes/start", json={"recipe": inline, "parameters": {"goal": "x" * 4000}})
    assert (r.status_code, r.json()) == (400, {"error": "step work: params is too large"})
    assert (await rclient.get("/api/recipes/instances")).json() == []
    assert (await rclient.get("/api/commands")).json() == []


async def test_repair_reaches_every_running_instance_batch_after_batch(
    relay: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relay_model.recipes import runner as recipe_runner
    from relay_model.recipes.runner import RecipeStartInput

    inline = await _two_step_recipe_on_o1(relay)
    starts = [await relay.recipes.start(RecipeStartInput(recipe=inline)) for _ in range(3)]
    # Every spawn finishes on a node that dies before its hook runs.
    relay.commands.on_final.clear()
    for started in starts:
        await relay.commands.update(started.commands[0].id, status="succeeded")
    monkeypatch.setattr(recipe_runner, "REPAIR_BATCH", 2)
    assert await relay.recipes.repair(now_ms()) == 2
    assert await relay.recipes.repair(now_ms()) == 1
    for started in starts:
        assert [s.status for s in (await relay.recipes.get(started.instance.id)).steps] == ["succeeded", "running"]

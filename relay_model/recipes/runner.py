"""Running recipes: an instance's steps are carried by commands, and advance as those commands finish.

Start (`POST /api/recipes/start`): the parameters are checked against the recipe, an orchestrator is
chosen for every role (the one named by `orchestratorId`, else the first online orchestrator
offering the role's provider — "no orchestrator available for provider: X"), the instance is stored
and the steps without `needs` get their commands.

Commands per step (source `system`, `correlationId` = the instance id, `ttlMs` = the step's
`timeoutMs`; `params` always carry `recipeInstanceId`, `recipeStepId`, `recipeAttempt`, `role`):
- `spawn`    → `agent.spawn` to the role's orchestrator agent, params as `POST /api/orchestrators/:id/spawn`
  (`provider, cwd, label, approvalMode, prompt` = the role's rendered prompt, `capabilities`) plus
  `agentId`: the id the spawned agent should register with, `<recipe>-<role>-<instance id suffix>`.
  The orchestrator may report a different id as the command's `result.agentId`; the instance then
  addresses that one. Either way the instance records it under `agents[role]`.
- `prompt`   → `agent.prompt` to that agent, params `{prompt, cwd}`.
- `task`     → `task.create` to that agent, params `{title, body, severity}`.
- `shutdown` → `agent.shutdown` to that agent, params as the seed's agent actions (`action, agentId, …`).

Advancing: the command store calls `on_command` once for every final transition (a PATCH to a final
status, a cancel, a ttl expiry). `recipe_instance.lua` then, as one compare-and-set, records the
outcome: `succeeded` finishes the step; any other final status retries it (`onFailure: retry N`),
lets later steps go on (`continue`) or fails the instance (`fail`). Steps whose needs are all done are
marked `issuing` in the same script — so of two nodes racing, exactly one sees a step become ready —
and that node creates their commands. When every step is final the instance is `succeeded`.

A failed or stopped instance winds down: its open commands are canceled and every agent it spawned
and has not shut down yet gets an `agent.shutdown` command (`cleanupCommandIds`).

Events (cmd stream, data `{instance, stepId?}`): `recipe.started`, `recipe.step` (a step was issued,
finished, failed or retried), `recipe.completed`, `recipe.failed`, `recipe.stopped`.
"""

from __future__ import annotations

import builtins
import hashlib
import logging
import secrets
from typing import Annotated, Any, Final, Literal

import msgspec
from msgspec import Meta
from redis.asyncio import Redis

from relay_model import keys
from relay_model.activity import ActivityStore, state_activity
from relay_model.agents.orchestrators import OrchestratorStore, first_online
from relay_model.base import Input, Model
from relay_model.clock import now_ms
from relay_model.commands.commands import FINAL_STATUSES, Command, CommandStore
from relay_model.errors import Invalid, NotFound, RelayError
from relay_model.recipes.loader import LoadedRecipe, RecipeCatalog
from relay_model.recipes.schema import Recipe, RecipeStep, render, validate
from relay_model.scripts import Scripts
from relay_model.validation import check_json_size

log = logging.getLogger("relay.recipes")

INSTANCE_STATUSES: Final = ("running", "succeeded", "failed", "stopped")
STEP_STATUSES: Final = ("waiting", "issuing", "running", "succeeded", "failed", "canceled")
InstanceStatus = Literal["running", "succeeded", "failed", "stopped"]
# A step still `issuing` after this long lost the node that was creating its command.
REISSUE_AFTER_MS: Final = 30_000
REPAIR_BATCH: Final = 200

COMMAND_TYPES: Final = {
    "spawn": "agent.spawn",
    "prompt": "agent.prompt",
    "task": "task.create",
    "shutdown": "agent.shutdown",
}


class RecipeStartInput(Input):
    """`POST /api/recipes/start`. `recipe` is the seed's alias of `name`, or a whole recipe object."""

    name: Annotated[str, Meta(max_length=120)] | None = None
    recipe: Annotated[str, Meta(max_length=120)] | dict[str, Any] | None = None
    cwd: Annotated[str, Meta(max_length=500)] | None = None
    orchestrator_id: Annotated[str, Meta(max_length=120)] | None = None
    started_by: Annotated[str, Meta(max_length=120)] | None = None
    parameters: dict[str, str | int | float | bool] | None = None


class RecipeStopInput(Input):
    stopped_by: Annotated[str, Meta(max_length=120)] | None = None


class StepState(Model):
    id: str
    role: str
    action: str
    status: Literal["waiting", "issuing", "running", "succeeded", "failed", "canceled"] = "waiting"
    command_ids: list[str] = msgspec.field(default_factory=list)
    attempt: int | None = None
    started_at: int | None = None
    ended_at: int | None = None
    error: str | None = None


class RoleTarget(Model):
    orchestrator_id: str
    orchestrator_agent_id: str
    planned_agent_id: str


class RecipeInstance(Model):
    id: str
    recipe_name: str
    recipe_source: str = "builtin"
    parameters: dict[str, str] = msgspec.field(default_factory=dict)
    started_by: str = "api"
    cwd: str | None = None
    orchestrator_id: str | None = None
    roles: dict[str, RoleTarget] = msgspec.field(default_factory=dict)
    status: InstanceStatus = "running"
    steps: list[StepState] = msgspec.field(default_factory=list)
    # role -> the agent id its spawn step produced
    agents: dict[str, str] = msgspec.field(default_factory=dict)
    cleanup_command_ids: list[str] = msgspec.field(default_factory=list)
    error: str | None = None
    stopped_by: str | None = None
    created_at: int = 0
    updated_at: int | None = None
    ended_at: int | None = None


class StartResult(msgspec.Struct, rename="camel"):
    instance: RecipeInstance
    commands: list[Command]


class _Doc(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=False):
    id: str
    recipe_name: str
    recipe_source: str
    parameters: dict[str, str]
    started_by: str
    cwd: str | None
    orchestrator_id: str | None
    roles: dict[str, RoleTarget]
    created_at: int


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(RecipeInstance).decode
_decode_list = msgspec.json.Decoder(list[RecipeInstance]).decode
_decode_recipe = msgspec.json.Decoder(Recipe).decode


def _graph(recipe: Recipe) -> bytes:
    return _encode(
        {
            "roles": list(recipe.roles),
            "steps": [
                {
                    "id": s.id,
                    "role": s.role,
                    "action": s.action,
                    "needs": s.needs,
                    "retries": s.retries,
                    "cont": s.continues,
                }
                for s in recipe.steps
            ],
        }
    )


def _parameters(recipe: Recipe, given: dict[str, Any] | None) -> dict[str, str]:
    given = given or {}
    declared = {p.name for p in recipe.parameters}
    for name in given:
        if name not in declared:
            raise Invalid(f'unknown parameter "{name}" for recipe {recipe.name}')
    values: dict[str, str] = {}
    for param in recipe.parameters:
        value = given.get(param.name)
        if value is None or value == "":
            if param.required and not param.default:
                raise Invalid(f'parameter "{param.name}" required')
            values[param.name] = param.default or ""
        else:
            values[param.name] = str(value).lower() if isinstance(value, bool) else str(value)
        if len(values[param.name]) > 4000:
            raise Invalid(f'parameter "{param.name}" must be at most 4000 characters')
    return values


def step_command_id(instance_id: str, step_id: str, attempt: int) -> str:
    """The id of the command carrying one attempt of a step: the same on every node and every try.

    Shaped like `new_command_id`: `cmd_` + the instance's start (ms, hex, from its id) + 10 hex of a
    digest of (instance, step, attempt). Creating it is idempotent, so a node that reissues a step
    whose issuer died after creating the command gets that command back instead of a duplicate.
    """
    digest = hashlib.sha256(f"{instance_id}/{step_id}/{attempt}".encode()).hexdigest()
    return f"cmd_{instance_id[4:16]}{digest[:10]}"


def _pairs(flat: list[Any]) -> list[tuple[str, str]]:
    return [(str(flat[i]), str(flat[i + 1])) for i in range(0, len(flat), 2)]


class RecipeRunner:
    def __init__(
        self,
        redis: Redis,
        scripts: Scripts,
        *,
        commands: CommandStore,
        orchestrators: OrchestratorStore,
        activity: ActivityStore,
        catalog: RecipeCatalog,
        event_maxlen: int,
    ) -> None:
        self.redis = redis
        self.scripts = scripts
        self.commands = commands
        self.orchestrators = orchestrators
        self.activity = activity
        self.catalog = catalog
        self.maxlen = event_maxlen
        # Where the next repair pass starts in the running instances (see `repair`).
        self._repair_from = 0

    async def _run(self, instance_id: str, op: str, *args: Any) -> builtins.list[Any]:
        return await self.scripts.run_checked(
            "recipe_instance",
            [keys.recipe_instance(instance_id), keys.recipe_instances(), keys.events(keys.CMD)],
            [op, now_ms(), self.maxlen, *args],
        )

    # --- reading --------------------------------------------------------------------------------

    async def get(self, instance_id: str) -> RecipeInstance:
        (raw,) = await self._run(instance_id, "get")
        return _decode(raw)

    async def list(self, *, status: str | None = None, limit: int = 100) -> builtins.list[RecipeInstance]:
        """Newest first, read in one script call."""
        index = keys.recipe_instances_by_status(status) if status else keys.recipe_instances()
        ids = await self.redis.zrevrange(index, 0, limit - 1)
        if not ids:
            return []
        (raws,) = await self.scripts.run_checked(
            "recipe_instance", [keys.recipe_instance(i) for i in ids], ["many", now_ms(), self.maxlen]
        )
        return _decode_list("[" + ",".join(raws) + "]") if raws else []

    async def _recipe_of(self, instance_id: str) -> Recipe:
        raw = await self.redis.hget(keys.recipe_instance(instance_id), "recipe")  # type: ignore[misc]
        if raw is None:
            raise NotFound("recipe instance not found")
        return _decode_recipe(raw)

    # --- starting -------------------------------------------------------------------------------

    def _resolve(self, data: RecipeStartInput) -> LoadedRecipe:
        if isinstance(data.recipe, dict) and data.name is None:
            recipe = validate(data.recipe, "recipe")
            return LoadedRecipe(name=recipe.name, source="user", path="", recipe=recipe)
        name = data.name if data.name is not None else data.recipe
        if not isinstance(name, str) or not name.strip():
            raise Invalid("name required")
        try:
            return self.catalog.get(name.strip())
        except NotFound:
            # The seed answers every start failure with 400.
            raise Invalid("recipe not found") from None

    async def _targets(self, recipe: Recipe, orchestrator_id: str | None, instance_id: str) -> dict[str, RoleTarget]:
        spawned = {s.role for s in recipe.steps if s.action == "spawn"}
        orchestrators = await self.orchestrators.list()
        targets: dict[str, RoleTarget] = {}
        for role_name in recipe.roles:
            if role_name not in spawned:
                continue
            provider = recipe.roles[role_name].provider
            if orchestrator_id:
                orch = next((o for o in orchestrators if o.id == orchestrator_id), None)
                if orch is None:
                    raise Invalid("orchestrator not found")
                if provider not in orch.providers:
                    raise Invalid(f"orchestrator {orch.id} does not offer provider: {provider}")
                if orch.status != "online":
                    raise Invalid("orchestrator is offline")
            else:
                orch = first_online(orchestrators, provider)
            targets[role_name] = RoleTarget(
                orchestrator_id=orch.id,
                orchestrator_agent_id=orch.agent_id,
                planned_agent_id=f"{recipe.name}-{role_name}-{instance_id[-8:]}",
            )
        return targets

    async def start(self, data: RecipeStartInput) -> StartResult:
        loaded = self._resolve(data)
        recipe = loaded.recipe
        values = _parameters(recipe, data.parameters)
        now = now_ms()
        instance_id = f"rcp_{now:012x}{secrets.token_hex(4)}"
        doc = _Doc(
            id=instance_id,
            recipe_name=recipe.name,
            recipe_source=loaded.source,
            parameters=values,
            started_by=data.started_by or "api",
            cwd=data.cwd or None,
            orchestrator_id=data.orchestrator_id or None,
            roles=await self._targets(recipe, data.orchestrator_id or None, instance_id),
            created_at=now,
        )
        self._check_commands(doc, recipe)
        _, issued = await self._run(instance_id, "start", instance_id, _encode(doc), _graph(recipe), _encode(recipe))
        commands = await self._issue(instance_id, recipe, _pairs(issued))
        instance = await self.get(instance_id)
        await self.activity.add(
            state_activity(
                "Recipe started",
                client_id=f"server-recipe-start-{instance_id}",
                body=recipe.name,
                meta=instance_id,
                icon="ti-play",
                view="activity",
                metadata={"recipeInstanceId": instance_id, "commands": [c.id for c in commands]},
            )
        )
        return StartResult(instance=instance, commands=commands)

    # --- commands -------------------------------------------------------------------------------

    def _check_commands(self, doc: _Doc, recipe: Recipe) -> None:
        """Refuse at start a step whose command would be refused later (rendered params too large).

        Found only when the step is issued, it would leave the step `issuing`, reissued every
        REISSUE_AFTER_MS and failing each time. Params depend only on what is known now.
        """
        instance = RecipeInstance(
            id=doc.id,
            recipe_name=doc.recipe_name,
            parameters=doc.parameters,
            started_by=doc.started_by,
            cwd=doc.cwd,
            roles=doc.roles,
        )
        for step in recipe.steps:
            try:
                check_json_size(self._command_for(instance, recipe, step, 1)["params"], "params")
            except Invalid as exc:
                raise Invalid(f"step {step.id}: {exc.message}") from None

    def _command_for(self, instance: RecipeInstance, recipe: Recipe, step: RecipeStep, attempt: int) -> dict[str, Any]:
        role = recipe.roles[step.role]
        variables = {**instance.parameters, "cwd": instance.cwd or "", "recipe": recipe.name}
        variables.update(instanceId=instance.id, role=step.role)
        base = {"recipeInstanceId": instance.id, "recipeStepId": step.id, "recipeAttempt": attempt, "role": step.role}
        agent_id = instance.agents.get(step.role) or (
            instance.roles[step.role].planned_agent_id if step.role in instance.roles else ""
        )
        now = now_ms()
        if step.action == "spawn":
            target = instance.roles[step.role]
            params: dict[str, Any] = {
                "action": "spawn",
                "provider": role.provider,
                "label": role.label or f"{recipe.name}-{step.role}",
                "approvalMode": role.approval_mode,
                "capabilities": role.capabilities,
                "agentId": target.planned_agent_id,
                "requestedBy": instance.started_by,
                "requestedAt": now,
                **base,
            }
            if instance.cwd:
                params["cwd"] = instance.cwd
            prompt = render(step.prompt or role.prompt, variables).strip()
            if prompt:
                params["prompt"] = prompt
            return {"type": "agent.spawn", "target": target.orchestrator_agent_id, "params": params}
        if step.action == "prompt":
            params = {"prompt": render(step.prompt or role.prompt, variables).strip(), **base}
        elif step.action == "task":
            assert step.task is not None
            params = {
                "title": render(step.task.title, variables),
                "body": render(step.task.body, variables),
                "severity": step.task.severity,
                **base,
            }
        else:
            params = {"action": "shutdown", "agentId": agent_id, "requestedBy": instance.started_by, "requestedAt": now}
            params.update(base)
        if instance.cwd:
            params["cwd"] = instance.cwd
        return {"type": COMMAND_TYPES[step.action], "target": agent_id, "params": params}

    async def _issue(
        self, instance_id: str, recipe: Recipe, issued: builtins.list[tuple[str, str]]
    ) -> builtins.list[Command]:
        """Create and attach the commands of steps the script marked `issuing` (this node won them)."""
        if not issued:
            return []
        instance = await self.get(instance_id)
        steps = {s.id: s for s in recipe.steps}
        created: builtins.list[Command] = []
        for step_id, attempt in issued:
            step = steps[step_id]
            spec = self._command_for(instance, recipe, step, int(attempt))
            command = await self.commands.create(
                type=spec["type"],
                source="system",
                target=spec["target"],
                params=spec["params"],
                correlation_id=instance_id,
                ttl_ms=step.timeout_ms,
                command_id=step_command_id(instance_id, step_id, int(attempt)),
            )
            created.append(command)
            outcome, _ = await self._run(instance_id, "attach", step_id, attempt, command.id)
            if outcome == "orphan":
                # The instance ended while this command was being created.
                await self._cancel_quietly(command.id)
        return created

    async def _cancel_quietly(self, command_id: str) -> Command | None:
        try:
            return await self.commands.cancel(command_id)
        except RelayError:
            return None  # already final

    async def _wind_down(
        self, instance_id: str, cancel: builtins.list[Any], shutdown: builtins.list[Any], by: str
    ) -> builtins.list[Command]:
        commands: builtins.list[Command] = []
        for command_id in cancel:
            canceled = await self._cancel_quietly(str(command_id))
            if canceled is not None:
                commands.append(canceled)
        cleanup: builtins.list[str] = []
        instance = await self.get(instance_id)
        for role, agent_id in _pairs(shutdown):
            command = await self.commands.create(
                type="agent.shutdown",
                source="system",
                target=agent_id,
                params={
                    "action": "shutdown",
                    "agentId": agent_id,
                    "requestedBy": by,
                    "requestedAt": now_ms(),
                    "recipeInstanceId": instance_id,
                    "role": role,
                    **({"orchestratorId": instance.roles[role].orchestrator_id} if role in instance.roles else {}),
                },
                correlation_id=instance_id,
            )
            commands.append(command)
            cleanup.append(command.id)
        if cleanup:
            await self._run(instance_id, "cleanup", ",".join(cleanup))
        return commands

    async def on_command(self, command: Command) -> None:
        """The command store's final-transition hook: advance the instance the command belongs to."""
        params = command.params or {}
        instance_id, step_id = params.get("recipeInstanceId"), params.get("recipeStepId")
        if not isinstance(instance_id, str) or not isinstance(step_id, str) or command.status not in FINAL_STATUSES:
            return
        result = command.result or {}
        agent_id = result.get("agentId") if isinstance(result.get("agentId"), str) else params.get("agentId")
        try:
            reply = await self._run(
                instance_id,
                "apply",
                step_id,
                str(params.get("recipeAttempt", 1)),
                command.id,
                command.status,
                agent_id if command.type == "agent.spawn" and isinstance(agent_id, str) else "",
                command.error or "",
            )
        except NotFound:
            return
        outcome, _, issued, cancel, shutdown = reply
        if outcome in ("advanced", "retry"):
            await self._issue(instance_id, await self._recipe_of(instance_id), _pairs(issued))
        elif outcome == "failed":
            await self._wind_down(instance_id, cancel, shutdown, "recipe")

    async def repair(self, now: int) -> int:
        """Recipe progression for the reaper: catch up what a crashed node left half done.

        A step whose command is final but which is still `running` missed its hook (the node died
        between the command's transition and the hook): the outcome is applied now — `apply` is a
        compare-and-set, so applying twice is harmless. A step `issuing` for longer than
        REISSUE_AFTER_MS lost the node that was creating its command: one caller wins `reissue` and
        creates it. Returns how many steps were repaired.

        A pass reads REPAIR_BATCH running instances and the next pass continues after them (starting
        over at the end), so every running instance is looked at, however many there are.
        """
        repaired = 0
        start = self._repair_from
        ids = await self.redis.zrange(keys.recipe_instances_by_status("running"), start, start + REPAIR_BATCH - 1)
        self._repair_from = start + len(ids) if len(ids) == REPAIR_BATCH else 0
        for instance_id in ids:
            try:
                instance = await self.get(instance_id)
            except NotFound:
                continue
            for step in instance.steps:
                if step.status == "running" and step.command_ids:
                    command = await self.commands.get(step.command_ids[-1])
                    if command is not None and command.final:
                        await self.on_command(command)
                        repaired += 1
                elif step.status == "issuing":
                    won, attempt = await self._run(instance_id, "reissue", step.id, now - REISSUE_AFTER_MS)
                    if int(won):
                        await self._issue(instance_id, await self._recipe_of(instance_id), [(step.id, str(attempt))])
                        repaired += 1
        return repaired

    # --- stopping -------------------------------------------------------------------------------

    async def stop(self, instance_id: str, stopped_by: str) -> StartResult:
        _, cancel, shutdown = await self._run(instance_id, "stop", stopped_by)
        commands = await self._wind_down(instance_id, cancel, shutdown, stopped_by)
        instance = await self.get(instance_id)
        await self.activity.add(
            state_activity(
                "Recipe stopped",
                client_id=f"server-recipe-stop-{instance_id}-{now_ms()}",
                body=instance.recipe_name,
                meta=instance_id,
                icon="ti-player-stop",
                view="activity",
                metadata={"recipeInstanceId": instance_id, "commands": [c.id for c in commands]},
            )
        )
        return StartResult(instance=instance, commands=commands)

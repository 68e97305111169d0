"""Recipes: the catalogue (built-in and user YAML), starting instances, following and stopping them."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import Body, FromPath, QueryParameter

from relay_api.deps import RelayDep
from relay_model.automations.automations import reword
from relay_model.errors import Invalid, Unprocessable
from relay_model.recipes.loader import LoadedRecipe
from relay_model.recipes.runner import RecipeInstance, RecipeStartInput, RecipeStopInput, StartResult
from relay_model.recipes.schema import RecipeError


def _body(raw: Any, kind: type[msgspec.Struct], not_object: str) -> Any:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise Invalid(not_object)
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as exc:
        raise Invalid(reword("", exc).lstrip(".")) from None


STATUS_TEXT = "running | succeeded | failed | stopped (another value matches no instance)"


class RecipeController(Controller):
    path = "/recipes"
    tags = ["recipes"]

    @get("/", name="recipes:list", opt={"scope": "recipes:read"})
    async def list_recipes(self, relay: RelayDep) -> list[LoadedRecipe]:
        """Every valid recipe, built-in and user (a user recipe with a built-in's name replaces it)."""
        return relay.recipes.catalog.list()

    @post("/start", name="recipes:start", opt={"scope": "recipes:write"}, status_code=202)
    async def start(
        self,
        relay: RelayDep,
        data: Annotated[Any, Body(description="{name | recipe, cwd?, orchestratorId?, startedBy?, parameters?}")],
    ) -> Response[StartResult]:
        """Start an instance: 202 with the instance and the commands of its first steps."""
        # The seed answers a body that is not an object (null included) with "recipe name required".
        if not isinstance(data, dict):
            raise Invalid("recipe name required")
        body: RecipeStartInput = _body(data, RecipeStartInput, "recipe name required")
        return Response(await relay.recipes.start(body), status_code=202)

    @get("/instances", name="recipes:instances", opt={"scope": "recipes:read"})
    async def list_instances(
        self,
        relay: RelayDep,
        status: Annotated[str | None, QueryParameter(max_length=40, description=STATUS_TEXT)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[RecipeInstance]:
        """Instances newest first, optionally of one status (an unknown status matches none, as in the seed)."""
        return await relay.recipes.list(status=status, limit=limit)

    @get("/instances/{instance_id:str}", name="recipes:instance", opt={"scope": "recipes:read"})
    async def get_instance(self, relay: RelayDep, instance_id: FromPath[str]) -> RecipeInstance:
        return await relay.recipes.get(instance_id)

    @post("/instances/{instance_id:str}/stop", name="recipes:stop", opt={"scope": "recipes:write"}, status_code=202)
    async def stop(
        self,
        relay: RelayDep,
        instance_id: FromPath[str],
        data: Annotated[Any, Body(description="{stoppedBy?}")] = None,
    ) -> Response[StartResult]:
        """Stop a running instance: open commands are canceled and its agents get shutdown commands."""
        body: RecipeStopInput = _body(data if isinstance(data, dict) else {}, RecipeStopInput, "")
        return Response(await relay.recipes.stop(instance_id, body.stopped_by or "api"), status_code=202)

    @get("/{name:str}", name="recipes:get", opt={"scope": "recipes:read"})
    async def get_recipe(self, relay: RelayDep, name: FromPath[str]) -> LoadedRecipe:
        """One recipe; 404 "recipe not found"; 422 with the validator's errors when its file is broken."""
        try:
            return relay.recipes.catalog.get(name)
        except RecipeError as err:
            raise Unprocessable(err.message) from None

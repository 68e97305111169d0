"""Commands: create, list (a target's queue cheaply), read, report progress/outcome, cancel."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from relay_api.deps import PrincipalDep, RelayDep
from relay_api.ownership import (
    bound_to_one,
    require_command_create,
    require_command_listing,
    require_command_party,
    require_command_read,
    require_command_report,
)
from relay_api.responses import Ok
from relay_model.commands.commands import Command, CommandStatus, CreateCommandInput, UpdateCommandInput
from relay_model.errors import NotFound

BODY_TEXT = {"body_error": "command body must be an object"}


class CommandController(Controller):
    path = "/commands"
    tags = ["commands"]

    @post("/", name="commands:create", opt={"scope": "commands:write", **BODY_TEXT}, status_code=201)
    async def create(self, relay: RelayDep, principal: PrincipalDep, data: JSONBody[CreateCommandInput]) -> Command:
        """Queue a command for `target` (201, status `pending`, event `command.requested`).
        Agent and orchestrator tokens send as themselves and address only what the README's command
        rules allow (e.g. `agent.restart` only to an agent they act as)."""
        await require_command_create(principal, data.type, data.source, data.target, relay)
        return await relay.commands.create_from(data)

    @get("/", name="commands:list", opt={"scope": "commands:read"})
    async def list_commands(
        self,
        relay: RelayDep,
        principal: PrincipalDep,
        target: Annotated[str | None, QueryParameter(max_length=240)] = None,
        status: FromQuery[CommandStatus | None] = None,
        type: Annotated[str | None, QueryParameter(max_length=120)] = None,
        since: Annotated[int | None, QueryParameter(ge=0, le=2**53 - 1, description="createdAt ms, inclusive")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[Command]:
        """Oldest first. With `since`: the oldest commands created at or after it; else the newest `limit`.
        `target` + `status` reads only that target's queue (e.g. `?target=me&status=pending`).
        Agent and orchestrator tokens list only the queue of an agent they act as."""
        await require_command_listing(principal, target, relay)
        return await relay.commands.list(target=target, status=status, type=type, since=since, limit=limit)

    @get("/{command_id:str}", name="commands:get", opt={"scope": "commands:read"})
    async def get_command(self, relay: RelayDep, principal: PrincipalDep, command_id: FromPath[str]) -> Command:
        """One command; agent and orchestrator tokens read only commands they are the source or target of."""
        command = await relay.commands.get(command_id)
        if command is None:
            raise NotFound("command not found")
        await require_command_read(principal, command, relay)
        return command

    @patch("/{command_id:str}", name="commands:update", opt={"scope": "commands:write", **BODY_TEXT})
    async def update(
        self, relay: RelayDep, principal: PrincipalDep, command_id: FromPath[str], data: JSONBody[UpdateCommandInput]
    ) -> Command:
        """Report a status change and/or result/error. 409 for a final command or an illegal transition.
        Agent and orchestrator tokens report only on commands addressed to them (a source may cancel)."""
        if bound_to_one(principal) and (command := await relay.commands.get(command_id)) is not None:
            await require_command_report(principal, command, data.status, relay)
        return await relay.commands.update_from(command_id, data)

    @delete("/{command_id:str}", name="commands:cancel", opt={"scope": "commands:write"}, status_code=200)
    async def cancel(self, relay: RelayDep, principal: PrincipalDep, command_id: FromPath[str]) -> Ok:
        """Cancel a command that has not finished (event `command.canceled`); its target or its source may."""
        if bound_to_one(principal) and (command := await relay.commands.get(command_id)) is not None:
            await require_command_party(principal, command, relay)
        await relay.commands.cancel(command_id)
        return Ok()

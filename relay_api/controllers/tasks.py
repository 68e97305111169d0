"""Tasks: create, list, read, history, status updates and claims."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from relay_api.deps import PrincipalDep, RelayDep
from relay_api.ownership import bound_to_one, default_identity, require_self, task_actor
from relay_model.errors import Invalid
from relay_model.flows.integration_events import announce_new_task
from relay_model.tasks.tasks import (
    CreateTaskInput,
    NewTask,
    Task,
    TaskClaimInput,
    TaskEvent,
    TaskStatus,
    TaskStatusInput,
    task_activity,
)


class TaskResult(msgspec.Struct, rename="camel"):
    ok: bool
    task: Task


class TaskController(Controller):
    path = "/tasks"
    tags = ["tasks"]

    @get("/", name="tasks:list", opt={"scope": "tasks:read"})
    async def list_tasks(
        self,
        relay: RelayDep,
        status: FromQuery[TaskStatus | None] = None,
        target: Annotated[str | None, QueryParameter(max_length=240)] = None,
        channel: Annotated[str | None, QueryParameter(max_length=240)] = None,
        source: Annotated[str | None, QueryParameter(max_length=240)] = None,
        claimed_by: Annotated[str | None, QueryParameter(name="claimedBy", max_length=240)] = None,
        before: Annotated[int | None, QueryParameter(ge=0)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[Task]:
        """Newest first; `before` (a task id) pages back."""
        return await relay.tasks.list(
            limit=limit,
            before=before,
            status=status,
            target=target,
            channel=channel,
            source=source,
            claimed_by=claimed_by,
        )

    @post("/", name="tasks:create", opt={"scope": "tasks:write"}, status_code=201)
    async def create(self, relay: RelayDep, principal: PrincipalDep, data: JSONBody[CreateTaskInput]) -> Task:
        """Create a task (status open). A target agent is told with a `task` message.
        An agent or orchestrator token's task names it as `source` (the default; another source is 403)."""
        data.source = default_identity(principal, data.source)
        if bound_to_one(principal) and data.source is not None:
            await require_self(principal, data.source, relay)
        if data.source and any(i.name == data.source for i in relay.settings.integrations):
            # An integration's tasks (and callbacks) come only through its own token.
            raise Invalid(f"source {data.source} is an integration; post its events to /api/integrations/events")
        task, _ = await relay.tasks.create(NewTask.from_input(data, source="api", metadata=data.metadata))
        await announce_new_task(relay, task)
        return task

    @get("/{task_id:int}", name="tasks:get", opt={"scope": "tasks:read"})
    async def get_task(self, relay: RelayDep, task_id: FromPath[int]) -> Task:
        return await relay.tasks.require(task_id)

    @get("/{task_id:int}/events", name="tasks:events", opt={"scope": "tasks:read"})
    async def events(self, relay: RelayDep, task_id: FromPath[int]) -> list[TaskEvent]:
        """The task's full history, oldest first."""
        return await relay.tasks.history(task_id)

    @patch("/{task_id:int}/status", name="tasks:status", opt={"scope": "tasks:write"})
    async def set_status(
        self, relay: RelayDep, principal: PrincipalDep, task_id: FromPath[int], data: JSONBody[TaskStatusInput]
    ) -> Task:
        """`open` releases the claim; `claimed`/`in_progress`/`blocked` with `agentId` hold (and renew) it;
        a live claim of another agent refuses the change with 409. Agent and orchestrator tokens change
        only tasks their agent holds (or take one nobody holds); an agent token's `agentId` defaults to itself."""
        agent_id = task_actor(principal, data.agent_id)
        if agent_id is not None:
            await require_self(principal, agent_id, relay)
        task = await relay.tasks.set_status(
            task_id, data.status, agent_id, data.note, claimant_only=bound_to_one(principal)
        )
        title = "Task reopened" if task.status == "open" else f"Task {task.status.replace('_', ' ')}"
        await relay.activity.add(task_activity(task, title, agent_id))
        return task

    @post("/{task_id:int}/claim", name="tasks:claim", opt={"scope": "tasks:write"}, status_code=200)
    async def claim(
        self, relay: RelayDep, principal: PrincipalDep, task_id: FromPath[int], data: JSONBody[TaskClaimInput]
    ) -> TaskResult:
        """200 to the one winner (and to the holder claiming again to renew), 409 to everyone else."""
        await require_self(principal, data.agent_id, relay)
        task, _ = await relay.tasks.claim(task_id, data.agent_id, data.ttl_ms)
        return TaskResult(ok=True, task=task)

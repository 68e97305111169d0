"""Tasks: work items for agents, created over the API or by integrations, claimed with a deadline.

Every change is one Lua script that also appends the task's history, emits `task.created` /
`task.updated` and, for an integration's task, queues the callback delivery (see relay_model/integrations/callbacks.py),
so a change, its event and its callback are never separated.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

import msgspec
from msgspec import Meta
from redis.asyncio import Redis

from relay_model import keys
from relay_model.activity import ActivityInput
from relay_model.base import Input, Model
from relay_model.clock import now_ms
from relay_model.errors import NotFound
from relay_model.scripts import Scripts
from relay_model.validation import Id, JsonObject, TtlMs, check_json_size

TASK_STATUSES: Final = ("open", "claimed", "in_progress", "blocked", "orphaned", "done", "failed", "canceled")
TASK_SEVERITIES: Final = ("info", "warning", "critical")
TaskStatus = Literal["open", "claimed", "in_progress", "blocked", "orphaned", "done", "failed", "canceled"]
TaskSeverity = Literal["info", "warning", "critical"]

Title = Annotated[str, Meta(min_length=1, max_length=200)]
TaskBody = Annotated[str, Meta(max_length=20_000)]
Note = Annotated[str, Meta(max_length=4000)]
TypeName = Annotated[str, Meta(min_length=1, max_length=120)]

# Listings examine at most this many index entries, so a rare filter stays cheap.
LIST_SCAN_BUDGET = 5000
# Claims released per reaper pass per step; the rest wait for the next pass.
REAP_BATCH = 500


class Task(Model):
    id: int
    title: str
    body: str = ""
    severity: TaskSeverity = "info"
    status: TaskStatus = "open"
    target: str | None = None
    channel: str | None = None
    source: str | None = None
    external_id: str | None = None
    type: str | None = None
    metadata: JsonObject | None = None
    claimed_by: str | None = None
    claimed_at: int | None = None
    claim_expires_at: int | None = None
    created_at: int = 0
    updated_at: int = 0


class TaskEvent(Model):
    """One entry of a task's history."""

    id: int
    task_id: int
    type: str
    action: str
    status: str
    previous_status: str | None = None
    agent_id: str | None = None
    note: str | None = None
    at: int = 0


class CreateTaskInput(Input):
    title: Title
    body: TaskBody = ""
    severity: TaskSeverity = "info"
    target: Id | None = None
    channel: Id | None = None
    source: Id | None = None
    type: TypeName | None = None
    metadata: JsonObject | None = None


class TaskStatusInput(Input):
    """The seed's TaskStatusInput."""

    status: TaskStatus
    agent_id: Id | None = None
    note: Note | None = None


class TaskClaimInput(Input):
    agent_id: Id
    ttl_ms: TtlMs | None = None


class NewTask(msgspec.Struct, kw_only=True):
    """What a create (or an integration's update by externalId) writes."""

    title: str
    body: str = ""
    severity: str = "info"
    target: str = ""
    channel: str = ""
    source: str = ""
    external_id: str = ""
    type: str = ""
    metadata: JsonObject | None = None

    @classmethod
    def from_input(cls, data: CreateTaskInput, *, source: str, metadata: JsonObject | None) -> NewTask:
        """A task created through the API's body shape (`POST /api/tasks`, an automation's task action)."""
        return cls(
            title=data.title,
            body=data.body,
            severity=data.severity,
            target=data.target or "",
            channel=data.channel or "",
            source=data.source or source,
            type=data.type or "",
            metadata=metadata,
        )


def task_activity(task: Task, title: str, agent_id: str | None = None) -> ActivityInput:
    """The activity-feed entry people read for a task change (the live event is `task.*`)."""
    return ActivityInput(
        kind="task",
        title=title,
        body=task.title,
        meta=str(task.id),
        icon="ti-checklist",
        view="tasks",
        agent_id=agent_id or task.claimed_by or task.target,
        metadata={"taskId": task.id, "status": task.status, "severity": task.severity, "source": task.source},
        client_id=f"server-task-{task.id}-{task.status}-{task.updated_at}",
    )


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Task).decode
_decode_list = msgspec.json.Decoder(list[Task]).decode
_decode_events = msgspec.json.Decoder(list[TaskEvent]).decode


def decode_tasks(raws: list[str]) -> list[Task]:
    return _decode_list("[" + ",".join(raws) + "]") if raws else []


class TaskStore:
    def __init__(self, redis: Redis, scripts: Scripts, *, event_maxlen: int, claim_ttl_ms: int, callbacks: str) -> None:
        """`callbacks` is the callback filter JSON of the configured integrations (`callback_filters`)."""
        self.redis = redis
        self.scripts = scripts
        self.maxlen = event_maxlen
        self.claim_ttl_ms = claim_ttl_ms
        self.callbacks = callbacks

    def _cb_keys(self) -> list[str]:
        return [keys.callback_seq(), keys.callbacks_all(), keys.callbacks_due()]

    async def create(self, task: NewTask) -> tuple[Task, bool]:
        """Create a task; with an externalId already used by the same source, update that task."""
        check_json_size(task.metadata, "metadata")
        requested = ""
        if task.metadata and isinstance(task.metadata.get("relayRequestedTarget"), str):
            requested = task.metadata["relayRequestedTarget"]
        has_ext = bool(task.external_id and task.source)
        created, raw = await self.scripts.run_checked(
            "task_create",
            [
                keys.task_seq(),
                keys.tasks_all(),
                keys.task_external(task.source, task.external_id) if has_ext else keys.task_external("", ""),
                keys.events(keys.TASK),
                *self._cb_keys(),
            ],
            [
                now_ms(),
                task.title,
                task.body,
                task.severity,
                task.target,
                task.channel,
                task.source,
                task.external_id,
                task.type,
                _encode(task.metadata).decode() if task.metadata is not None else "",
                requested,
                self.maxlen,
                self.callbacks,
                "1" if has_ext else "0",
            ],
        )
        return _decode(raw), bool(created)

    async def get(self, task_id: int) -> Task | None:
        (raw,) = await self.scripts.run("tasks_get", [keys.task(task_id)], [])
        return _decode(raw) if raw else None

    async def require(self, task_id: int) -> Task:
        task = await self.get(task_id)
        if task is None:
            raise NotFound("task not found")
        return task

    async def history(self, task_id: int) -> list[TaskEvent]:
        pipe = self.redis.pipeline(transaction=False)
        pipe.exists(keys.task(task_id))
        pipe.lrange(keys.task_history(task_id), 0, -1)
        exists, raws = await pipe.execute()
        if not exists:
            raise NotFound("task not found")
        return _decode_events("[" + ",".join(raws) + "]")

    async def claim(self, task_id: int, agent_id: str, ttl_ms: int | None) -> tuple[Task, bool]:
        fresh, raw = await self.scripts.run_checked(
            "task_claim",
            [keys.task(task_id), keys.task_claims(), keys.task_claimants(), keys.events(keys.TASK), *self._cb_keys()],
            [now_ms(), task_id, agent_id, ttl_ms or self.claim_ttl_ms, self.maxlen, self.callbacks],
        )
        return _decode(raw), bool(fresh)

    async def set_status(
        self, task_id: int, status: str, agent_id: str | None, note: str | None, *, claimant_only: bool = False
    ) -> Task:
        """`claimant_only`: `agent_id` must be the task's claimant (or take a task nobody holds)."""
        (raw,) = await self.scripts.run_checked(
            "task_status",
            [keys.task(task_id), keys.task_claims(), keys.task_claimants(), keys.events(keys.TASK), *self._cb_keys()],
            [
                now_ms(),
                task_id,
                status,
                agent_id or "",
                note or "",
                self.maxlen,
                self.callbacks,
                self.claim_ttl_ms,
                "1" if claimant_only else "0",
            ],
        )
        return _decode(raw)

    async def release_expired(self, now: int) -> list[int]:
        ids = await self.scripts.run(
            "task_release_expired",
            [keys.task_claims(), keys.task_claimants(), keys.events(keys.TASK), *self._cb_keys()],
            [now, REAP_BATCH, self.maxlen, self.callbacks],
        )
        return [int(i) for i in ids[1:]]  # ids[0] is how many due entries were examined

    async def trim_batch(self, *, cutoff: int, keep: int, limit: int) -> list[str]:
        """Retention: delete final tasks final since `cutoff` (0 = no age cap) or beyond the newest `keep`
        final ones (0 = no count cap), at most `limit`: `[examined, id, …]` (see tasks_trim.lua)."""
        trimmed: list[str] = await self.scripts.run(
            "tasks_trim", [keys.tasks_final(), keys.tasks_all(), keys.task_claims()], [cutoff, keep, limit]
        )
        return trimmed

    async def claimants(self) -> list[str]:
        members: set[str] = await self.redis.smembers(keys.task_claimants())  # type: ignore[misc]
        return sorted(members)

    async def release_orphans(self, now: int, gone_agents: list[str]) -> list[int]:
        if not gone_agents:
            return []
        ids = await self.scripts.run(
            "task_orphan",
            [keys.task_claims(), keys.task_claimants(), keys.events(keys.TASK), *self._cb_keys()],
            [now, self.maxlen, self.callbacks, REAP_BATCH, *gone_agents],
        )
        return [int(i) for i in ids]

    async def list(
        self,
        *,
        limit: int,
        before: int | None = None,
        status: str | None = None,
        target: str | None = None,
        channel: str | None = None,
        source: str | None = None,
        claimed_by: str | None = None,
    ) -> list[Task]:
        """Newest first, through the most selective index a filter names."""
        if claimed_by:
            index = keys.tasks_by("claimedBy", claimed_by)
        elif target:
            index = keys.tasks_by("target", target)
        elif channel:
            index = keys.tasks_by("channel", channel)
        elif source:
            index = keys.tasks_by("source", source)
        elif status:
            index = keys.tasks_by("status", status)
        else:
            index = keys.tasks_all()
        raws = await self.scripts.run(
            "tasks_list",
            [index],
            [
                limit,
                "" if before is None else before,
                status or "",
                target or "",
                channel or "",
                source or "",
                claimed_by or "",
                LIST_SCAN_BUDGET,
            ],
        )
        return decode_tasks(raws)

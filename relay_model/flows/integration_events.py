"""`POST /api/integrations/events`: the seed's resolveIntegrationEventTarget and ingestion.

A target `channel:<id>` resolves through that channel's single binding to one backend agent; the
task records where it was asked to go (`relayRequestedTarget`) and how it got there
(`relayResolvedChannelId`, `relayResolvedChannelBindingId`).
"""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

from relay_model.activity import ActivityStore
from relay_model.agents.agents import AgentStore
from relay_model.errors import Invalid, Unprocessable
from relay_model.integrations.config import IntegrationEventInput
from relay_model.messages.channels import ChannelBinding, ChannelStore, message_target_for
from relay_model.messages.messages import Message, MessageStore, SendMessageInput
from relay_model.tasks.tasks import NewTask, Task, TaskStore, task_activity


class Notifying(Protocol):
    """What telling a task's target uses of the relay."""

    messages: MessageStore


class Announcing(Notifying, Protocol):
    """What announcing a new task (its message and its activity entry) uses of the relay."""

    activity: ActivityStore


class Ingesting(Announcing, Protocol):
    """What ingesting an integration's event uses of the relay."""

    agents: AgentStore
    channels: ChannelStore
    tasks: TaskStore


def channel_id_from_target(target: str) -> str | None:
    """The seed's channelIdFromIntegrationTarget."""
    if not target.startswith("channel:"):
        return None
    channel_id = target[len("channel:") :].strip()
    if not channel_id:
        raise Invalid("channel target id required")
    return channel_id


def metadata_with_resolved_channel_target(
    metadata: dict[str, Any] | None, original_target: str, channel_id: str, binding: ChannelBinding
) -> dict[str, Any]:
    return {
        **(metadata or {}),
        "relayRequestedTarget": original_target,
        "relayResolvedChannelId": channel_id,
        "relayResolvedChannelBindingId": binding.id,
    }


async def resolve_event_target(relay: Ingesting, data: IntegrationEventInput) -> IntegrationEventInput:
    """The seed's resolveIntegrationEventTarget (texts and codes included)."""
    channel_id = channel_id_from_target(data.target)
    if not channel_id:
        return data
    channel = await relay.agents.get(channel_id)
    if channel is None or channel.kind != "channel":
        raise Invalid(f"channel {channel_id} not found")
    bindings = await relay.channels.routes(channel_id)
    if not bindings:
        raise Invalid(f"channel {channel_id} has no binding")
    if len(bindings) > 1:
        raise Invalid(
            f"channel {channel_id} has multiple bindings; integration channel targets must resolve to one backend agent"
        )
    binding = bindings[0]
    resolved = message_target_for(binding)
    if await relay.agents.get(resolved) is None:
        raise Invalid(
            f"channel {channel_id} binding resolves to {resolved}; "
            "integration channel targets must resolve to one backend agent"
        )
    return msgspec.structs.replace(
        data,
        target=resolved,
        channel=data.channel or channel_id,
        metadata=metadata_with_resolved_channel_target(data.metadata, data.target, channel_id, binding),
    )


def _task_message(task: Task) -> SendMessageInput:
    return SendMessageInput(
        from_=task.source or "system",
        to=task.target,
        kind="task",
        subject=task.title,
        body=task.body,
        payload={"taskId": task.id, "severity": task.severity, "status": task.status},
        channel=task.channel,
        idempotency_key=f"task-{task.id}-created",
    )


async def notify_target(relay: Notifying, task: Task) -> Message | None:
    """Tell the task's target about a new task with a `task` message (the seed's ingest result
    carries one). A target that is offline simply finds the task later."""
    if not task.target:
        return None
    try:
        message, _ = await relay.messages.send(_task_message(task))
    except Unprocessable:
        return None
    return message


async def announce_new_task(relay: Announcing, task: Task) -> Message | None:
    """`notify_target` and the task's "Task created" activity entry. With a target, both are one
    script (the message and the feed are the bus group's): one round trip after the task's own."""
    entry = task_activity(task, "Task created")
    if not task.target:
        await relay.activity.add(entry)
        return None
    return await relay.messages.send_recorded(_task_message(task), entry)


async def ingest(relay: Ingesting, source: str, data: IntegrationEventInput) -> tuple[Task, bool, Message | None]:
    """Create a task, or update the source's task with the same externalId."""
    task, created = await relay.tasks.create(
        NewTask(
            title=data.title,
            body=data.body,
            severity=data.severity,
            target=data.target,
            channel=data.channel or "",
            source=source,
            external_id=data.external_id or "",
            type=data.type or "",
            metadata=data.metadata,
        )
    )
    if created:
        return task, created, await announce_new_task(relay, task)
    await relay.activity.add(task_activity(task, "Task updated"))
    return task, created, None

"""Channels (agents of kind `channel`) and their bindings: list, route an event, bind, unbind."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Response, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from relay_api.deps import RelayDep
from relay_api.responses import Ok
from relay_model.activity import ActivityInput
from relay_model.errors import Conflict, NotFound
from relay_model.messages.channels import (
    BindingInput,
    ChannelBinding,
    ChannelEventInput,
    ChannelSummary,
    agent_to_channel,
    message_target_for,
    scoped_idempotency_key,
)
from relay_model.messages.messages import Message, SendMessageInput
from relay_model.validation import check_json_size


class ChannelEventResult(msgspec.Struct, rename="camel"):
    ok: bool
    channel_id: str
    messages: list[Message]


class ChannelController(Controller):
    path = "/channels"
    tags = ["channels"]

    @get("/", name="channels:list", opt={"scope": "channels:read"})
    async def list_channels(self, relay: RelayDep) -> list[ChannelSummary]:
        """Every agent of kind `channel`, as a channel with its bindings."""
        agents = await relay.agents.list(kind="channel")
        bindings = await relay.channels.bindings_by_channel([a.id for a in agents])
        return [agent_to_channel(a, bindings.get(a.id, [])) for a in agents]

    @post("/{channel_id:str}/events", name="channels:event", opt={"scope": "channels:write"}, status_code=201)
    async def post_event(
        self, relay: RelayDep, channel_id: FromPath[str], data: JSONBody[ChannelEventInput]
    ) -> Response[ChannelEventResult]:
        """One `channel.event` message per inbound binding (idempotency key scoped per binding).
        201 when a message was created, 200 when every one was a repeat of its idempotency key."""
        check_json_size(data.payload, "payload")
        channel = await relay.agents.get(channel_id)
        if channel is None or channel.kind != "channel":
            raise NotFound("channel not found")
        bindings = [b for b in await relay.channels.routes(channel_id) if b.direction != "outbound"]
        if not bindings:
            raise Conflict("channel has no binding")
        # Resolve every route before sending any, so a refused route sends nothing.
        targets = [message_target_for(b) for b in bindings]
        messages: list[Message] = []
        created_any = False
        for binding, to in zip(bindings, targets, strict=True):
            message, created = await relay.messages.send(
                SendMessageInput(
                    from_=channel.id,
                    to=to,
                    kind="channel.event",
                    subject=data.subject,
                    body=data.body,
                    payload=data.payload,
                    channel=channel.id,
                    idempotency_key=scoped_idempotency_key(data.idempotency_key, binding),
                    claimable=False,
                )
            )
            messages.append(message)
            created_any = created_any or created
        if created_any:
            await relay.activity.add(
                ActivityInput(
                    kind="message",
                    title="Channel event",
                    body=data.body[:500],
                    meta=channel.id,
                    icon="ti-broadcast",
                    view="chat",
                    agent_id=channel.id,
                    message_id=messages[0].id,
                    metadata={
                        "channelId": channel.id,
                        "bindingIds": [b.id for b in bindings],
                        "messageIds": [m.id for m in messages],
                    },
                    client_id=f"server-channel-{channel.id}-event-{messages[0].id}",
                )
            )
        return Response(
            ChannelEventResult(ok=True, channel_id=channel.id, messages=messages),
            status_code=201 if created_any else 200,
        )


class ChannelBindingController(Controller):
    path = "/channel-bindings"
    tags = ["channels"]

    @post("/", name="channel-bindings:create", opt={"scope": "channels:write"}, status_code=201)
    async def create(self, relay: RelayDep, data: JSONBody[BindingInput]) -> ChannelBinding:
        """`target` is an address: agent id, `label:`, `tag:`, `cap:`, `broadcast`, `orchestrator:`, `pool:`."""
        binding = await relay.channels.bind(data)
        return binding

    @get("/", name="channel-bindings:list", opt={"scope": "channels:read"})
    async def list_bindings(
        self,
        relay: RelayDep,
        channel_id: Annotated[str | None, QueryParameter(name="channelId", max_length=240)] = None,
    ) -> list[ChannelBinding]:
        return await relay.channels.list(channel_id)

    @delete("/{binding_id:int}", name="channel-bindings:delete", opt={"scope": "channels:admin"}, status_code=200)
    async def remove(self, relay: RelayDep, binding_id: FromPath[int]) -> Ok:
        await relay.channels.unbind(binding_id)
        return Ok()

"""`POST /api/system/broadcast`: a message from `system` to every agent.

It is sent to the existing `broadcast` target: stored once and merged into every agent's inbox
when read, so every online agent gets it on its next read (and an agent that is offline now reads
it when it comes back), at the cost of one write however many agents there are. Kind `system`
reaches agents marked offline too, as the seed's bypass list says.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, post
from litestar.params import JSONBody
from msgspec import Meta

from relay_api.deps import RelayDep
from relay_model.activity import ActivityInput
from relay_model.base import Input
from relay_model.messages.messages import Message, SendMessageInput
from relay_model.validation import JsonObject, Subject


class BroadcastInput(Input):
    body: Annotated[str, Meta(min_length=1, max_length=65_536)]
    subject: Subject | None = None
    payload: JsonObject | None = None


class BroadcastResult(msgspec.Struct, rename="camel"):
    ok: bool
    message: Message


class BroadcastController(Controller):
    path = "/system/broadcast"
    tags = ["system"]

    @post("/", name="system:broadcast", opt={"scope": "system:admin"}, status_code=201)
    async def broadcast(self, relay: RelayDep, data: JSONBody[BroadcastInput]) -> BroadcastResult:
        message, _ = await relay.messages.send(
            SendMessageInput(
                from_="system",
                to="broadcast",
                kind="system",
                subject=data.subject or "System broadcast",
                body=data.body,
                payload=data.payload,
            )
        )
        await relay.activity.add(
            ActivityInput(
                kind="operator",
                title="System broadcast",
                body=data.body[:500],
                meta="system",
                icon="ti-speakerphone",
                view="chat",
                agent_id="system",
                message_id=message.id,
                client_id=f"server-system-broadcast-{message.id}",
            )
        )
        return BroadcastResult(ok=True, message=message)

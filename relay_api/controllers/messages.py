"""Messages: send (with fan-out, reply routing and idempotency), inbox and history, claims, read cursors."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from relay_api.auth import IN_SCRIPT, token_guard_of
from relay_api.deps import PrincipalDep, RelayDep
from relay_api.ownership import (
    acting_agent,
    claim_reader,
    require_history_filter,
    require_message_access,
    require_own_kind,
    require_self,
)
from relay_model.errors import Forbidden, NotFound
from relay_model.messages.messages import (
    ClaimInput,
    CursorInput,
    Message,
    ReadInput,
    ReleaseInput,
    SendMessageInput,
    decode_message,
)
from relay_model.validation import MAX_SAFE_INT, MessageKind


class Cursor(msgspec.Struct, rename="camel"):
    agent_id: str
    cursor: int
    latest_id: int


class ClaimResult(msgspec.Struct, rename="camel"):
    ok: bool
    message: Message


class MessageController(Controller):
    path = "/messages"
    tags = ["messages"]

    @post(
        "/",
        name="messages:send",
        opt={"scope": "messages:send", "token_check": IN_SCRIPT},
        status_code=201,
        responses={
            200: ResponseSpec(
                Message, description="The idempotencyKey was used before: the first message", generate_examples=False
            )
        },
    )
    async def send(
        self,
        request: Request[Any, Any, Any],
        relay: RelayDep,
        principal: PrincipalDep,
        data: JSONBody[SendMessageInput],
    ) -> Response[Message]:
        """Send a message. 201 with the new message; 200 with the first one when the idempotencyKey was used."""
        await require_self(principal, data.from_, relay)
        require_own_kind(principal, data.kind)
        # The hot path: the script's JSON is the response body, not decoded and encoded again.
        raw, created = await relay.messages.send_json(data, guard=token_guard_of(request))
        if not created:
            # Idempotency keys are global (as in the seed): the first message answers a repeat only
            # when the caller may read it, or a token could read another agent's mail by guessing keys
            # (a repeat is rare, so the check's read does not touch the sending path).
            await require_message_access(principal, decode_message(raw), relay)
        return Response(raw.encode(), media_type=MediaType.JSON, status_code=201 if created else 200)  # type: ignore[arg-type]

    @get("/", name="messages:list", opt={"scope": "messages:read", "token_check": IN_SCRIPT})
    async def list_messages(
        self,
        request: Request[Any, Any, Any],
        relay: RelayDep,
        principal: PrincipalDep,
        for_agent: Annotated[str | None, QueryParameter(name="for", max_length=240)] = None,
        since: Annotated[int | None, QueryParameter(ge=0, le=MAX_SAFE_INT)] = None,
        before: Annotated[int | None, QueryParameter(ge=0, le=MAX_SAFE_INT)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        from_agent: Annotated[str | None, QueryParameter(name="from", max_length=240)] = None,
        to: Annotated[str | None, QueryParameter(max_length=240)] = None,
        channel: Annotated[str | None, QueryParameter(max_length=240)] = None,
        kind: FromQuery[MessageKind | None] = None,
    ) -> Response[list[Message]]:
        """With `for`: that agent's inbox after `since`, oldest first. Without: history, filterable."""
        # Hot paths too: the messages' JSON as the scripts read it is the body, as for a send (decoding
        # and encoding a page of 20 messages again costs ~25 µs on the bench machine).
        if for_agent:
            await require_self(principal, for_agent, relay)
            guard = token_guard_of(request)
            raw = await relay.messages.inbox_json(for_agent, since=since or 0, limit=limit, guard=guard)
        else:
            await require_history_filter(principal, from_agent, to, relay)
            raw = await relay.messages.history_json(
                since=since,
                before=before,
                limit=limit,
                from_=from_agent,
                to=to,
                channel=channel,
                kind=kind,
                guard=token_guard_of(request),
            )
        return Response(raw.encode(), media_type=MediaType.JSON)  # type: ignore[arg-type]

    @get("/cursor", name="messages:cursor", opt={"scope": "messages:read"})
    async def get_cursor(
        self,
        relay: RelayDep,
        principal: PrincipalDep,
        agent_id: Annotated[str, QueryParameter(name="agentId", min_length=1, max_length=240)],
    ) -> Cursor:
        await require_self(principal, agent_id, relay)
        position = await relay.messages.cursor_position(agent_id)
        return Cursor(agent_id=agent_id, cursor=position.cursor, latest_id=position.latest_id)

    @post("/cursor", name="messages:cursor-set", opt={"scope": "messages:write"}, status_code=200)
    async def set_cursor(self, relay: RelayDep, principal: PrincipalDep, data: JSONBody[CursorInput]) -> Cursor:
        """Move an agent's read cursor forward (or back, with `rewind: true`)."""
        await require_self(principal, data.agent_id, relay)
        position = await relay.messages.set_cursor(data.agent_id, data.cursor, allow_rewind=data.rewind)
        return Cursor(agent_id=data.agent_id, cursor=position.cursor, latest_id=position.latest_id)

    @get("/{message_id:int}", name="messages:get", opt={"scope": "messages:read"})
    async def get_message(self, relay: RelayDep, principal: PrincipalDep, message_id: FromPath[int]) -> Message:
        message = await relay.messages.get(message_id)
        if message is None:
            raise NotFound("message not found")
        await require_message_access(principal, message, relay)
        return message

    @post(
        "/{message_id:int}/claim",
        name="messages:claim",
        opt={"scope": "messages:claim", "token_check": IN_SCRIPT},
        status_code=200,
    )
    async def claim(
        self,
        request: Request[Any, Any, Any],
        relay: RelayDep,
        principal: PrincipalDep,
        message_id: FromPath[int],
        data: JSONBody[ClaimInput],
    ) -> Response[ClaimResult]:
        """Claim a claimable message: 200 to the one holder (also when it asks again), 409 to everyone else."""
        await require_self(principal, data.agent_id, relay)
        # A hot path (agents poll-and-claim): the script's JSON is the message, as for a send. The
        # claim answers the message, so the script also checks a bound token's agent may read it.
        raw, _ = await relay.messages.claim_json(
            message_id, data.agent_id, data.ttl_ms, reader=claim_reader(principal), guard=token_guard_of(request)
        )
        return Response(b'{"ok":true,"message":' + raw.encode() + b"}", media_type=MediaType.JSON)  # type: ignore[arg-type]

    @post("/{message_id:int}/release", name="messages:release", opt={"scope": "messages:claim"}, status_code=200)
    async def release(
        self,
        relay: RelayDep,
        principal: PrincipalDep,
        message_id: FromPath[int],
        data: JSONBody[ReleaseInput | None] = None,
    ) -> ClaimResult:
        """Release a claim. Without `agentId` any holder's claim is released (an agent token: its own)."""
        agent_id = acting_agent(principal, (data or ReleaseInput()).agent_id)
        if agent_id is not None:
            await require_self(principal, agent_id, relay)
        elif principal.role == "orchestrator":
            raise Forbidden("orchestrator tokens must name the agentId whose claim they release")
        message = await relay.messages.release(message_id, agent_id)
        return ClaimResult(ok=True, message=message)

    @post("/{message_id:int}/read", name="messages:read-ack", opt={"scope": "messages:write"}, status_code=200)
    async def mark_read(
        self, relay: RelayDep, principal: PrincipalDep, message_id: FromPath[int], data: JSONBody[ReadInput]
    ) -> Cursor:
        """Acknowledge a message as read; the agent's read cursor moves up to it."""
        await require_self(principal, data.agent_id, relay)
        position = await relay.messages.mark_read(message_id, data.agent_id)
        return Cursor(agent_id=data.agent_id, cursor=position.cursor, latest_id=position.latest_id)

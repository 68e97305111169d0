"""Pairs: ask another agent to pair, accept / reject / end, and talk inside the pair."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from relay_api.auth import Principal
from relay_api.deps import PrincipalDep, RelayDep
from relay_api.ownership import acting_agent, bound_to_one, require_any_self, require_self
from relay_model.activity import ActivityInput
from relay_model.errors import Conflict, Forbidden, Unprocessable
from relay_model.messages.messages import Message, SendMessageInput
from relay_model.messages.pairs import CreatePairInput, Pair, PairAction, PairActionInput, PairMessageInput, PairStatus
from relay_model.relay import Relay

_TITLES = {
    "pending": "Pair requested",
    "active": "Pair accepted",
    "rejected": "Pair rejected",
    "ended": "Pair ended",
}


async def _tell(relay: Relay, pair: Pair, actor: str, subject: str) -> None:
    """A `pair` message to the other agent, and the activity entry people read."""
    other = pair.to if actor == pair.from_ else pair.from_
    try:
        await relay.messages.send(
            SendMessageInput(
                from_=actor,
                to=other,
                kind="pair",
                subject=subject,
                body=pair.reason or pair.topic or "",
                payload={"pairId": pair.id, "status": pair.status},
                channel=f"pair:{pair.id}",
                # No idempotency key: each transition is a compare-and-set that happens once, and a
                # guessable key would let any sender pre-empt (and so suppress) the notification.
            )
        )
    except Unprocessable:
        pass  # the other agent is offline: it sees the pair's status when it comes back
    await relay.activity.add(
        ActivityInput(
            kind="pair",
            title=_TITLES.get(pair.status, "Pair updated"),
            body=f"{pair.from_} → {pair.to}",
            meta=str(pair.id),
            icon="ti-link",
            view="chat",
            agent_id=actor,
            metadata={"pairId": pair.id, "status": pair.status, "from": pair.from_, "to": pair.to},
            client_id=f"server-pair-{pair.id}-{pair.status}",
        )
    )


_SUBJECTS: dict[PairAction, str] = {"accept": "Pair accepted", "reject": "Pair rejected", "end": "Pair ended"}


async def _act(relay: Relay, principal: Principal, pair_id: int, action: PairAction, data: PairActionInput) -> Pair:
    await require_self(principal, data.agent_id, relay)
    pair = await relay.pairs.act(pair_id, action, data.agent_id, data.reason)
    await _tell(relay, pair, data.agent_id, _SUBJECTS[action])
    return pair


class PairController(Controller):
    path = "/pairs"
    tags = ["pairs"]

    @post("/", name="pairs:create", opt={"scope": "pairs:write"}, status_code=201)
    async def create(self, relay: RelayDep, principal: PrincipalDep, data: JSONBody[CreatePairInput]) -> Pair:
        """`from` asks `to` to pair; pending until accepted, rejected, ended or `ttlMs` passes."""
        await require_self(principal, data.from_, relay)
        pair = await relay.pairs.create(data)
        await _tell(relay, pair, pair.from_, "Pair request")
        return pair

    @get("/", name="pairs:list", opt={"scope": "pairs:read"})
    async def list_pairs(
        self,
        relay: RelayDep,
        principal: PrincipalDep,
        agent_id: Annotated[str | None, QueryParameter(name="agentId", max_length=240)] = None,
        status: FromQuery[PairStatus | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[Pair]:
        """Newest first; `agentId` lists the pairs an agent is part of (an agent token: only its own)."""
        agent_id = acting_agent(principal, agent_id)
        if agent_id is not None:
            await require_self(principal, agent_id, relay)
        elif bound_to_one(principal):
            raise Forbidden(f"{principal.role} tokens list pairs with agentId")
        return await relay.pairs.list(agent_id=agent_id, status=status, limit=limit)

    @get("/{pair_id:int}", name="pairs:get", opt={"scope": "pairs:read"})
    async def get_pair(self, relay: RelayDep, principal: PrincipalDep, pair_id: FromPath[int]) -> Pair:
        """One pair; an agent or orchestrator token reads only pairs it is a party of."""
        pair = await relay.pairs.require(pair_id)
        await require_any_self(principal, (pair.from_, pair.to), relay)
        return pair

    @post("/{pair_id:int}/accept", name="pairs:accept", opt={"scope": "pairs:write"}, status_code=200)
    async def accept(
        self, relay: RelayDep, principal: PrincipalDep, pair_id: FromPath[int], data: JSONBody[PairActionInput]
    ) -> Pair:
        return await _act(relay, principal, pair_id, "accept", data)

    @post("/{pair_id:int}/reject", name="pairs:reject", opt={"scope": "pairs:write"}, status_code=200)
    async def reject(
        self, relay: RelayDep, principal: PrincipalDep, pair_id: FromPath[int], data: JSONBody[PairActionInput]
    ) -> Pair:
        return await _act(relay, principal, pair_id, "reject", data)

    @post("/{pair_id:int}/end", name="pairs:end", opt={"scope": "pairs:write"}, status_code=200)
    async def end(
        self, relay: RelayDep, principal: PrincipalDep, pair_id: FromPath[int], data: JSONBody[PairActionInput]
    ) -> Pair:
        return await _act(relay, principal, pair_id, "end", data)

    @post("/{pair_id:int}/messages", name="pairs:message", opt={"scope": "pairs:write"}, status_code=201)
    async def message(
        self, relay: RelayDep, principal: PrincipalDep, pair_id: FromPath[int], data: JSONBody[PairMessageInput]
    ) -> Message:
        """A `pair` message from one agent of an active pair to the other (channel `pair:<id>`)."""
        await require_self(principal, data.from_, relay)
        pair = await relay.pairs.require(pair_id)
        if data.from_ not in (pair.from_, pair.to):
            raise Forbidden(f"agent {data.from_} is not part of this pair")
        if pair.status != "active":
            raise Conflict(f"pair is {pair.status}")
        message, _ = await relay.messages.send(
            SendMessageInput(
                from_=data.from_,
                to=pair.to if data.from_ == pair.from_ else pair.from_,
                kind="pair",
                subject=data.subject,
                body=data.body,
                payload=data.payload,
                meta={"pairId": pair.id},
                channel=f"pair:{pair.id}",
            )
        )
        return message

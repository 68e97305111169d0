"""API tokens: issue (the secret is shown once), list, read and revoke. Operator-only, with one
delegation: an orchestrator token (scope `tokens:delegate`) issues and revokes `agent` tokens for the
agents it manages — the cards whose `orchestratorId` is its id — and nothing else. That is how an
orchestrator gives each agent it spawns its own token without holding the admin token."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from relay_api.auth import Principal
from relay_api.deps import PrincipalDep, RelayDep
from relay_api.responses import Ok
from relay_api.scopes import check_requested
from relay_model.auth.roles import AGENT, ORCHESTRATOR
from relay_model.auth.tokens import CreateTokenInput, IssuedToken, TokenRecord
from relay_model.errors import Forbidden, Invalid, NotFound
from relay_model.relay import Relay
from relay_model.validation import clean_positive_int

ADMIN_SCOPE = "tokens:admin"
DELEGATED = {"delegated_scope": "tokens:delegate"}


async def _require_delegable(principal: Principal, role: str, sub: str, relay: Relay) -> None:
    """A delegated caller (without `tokens:admin`) handles only agent tokens of the agents it manages:
    cards registered with its id as `orchestratorId` (not its own card, not anyone else's)."""
    if principal.has(ADMIN_SCOPE):
        return
    if role != AGENT:
        raise Forbidden(f'{principal.role} token for "{principal.sub}" may only handle agent tokens')
    card = await relay.agents.get(sub)
    managed = card is not None and card.orchestrator_id == principal.sub and card.kind != "orchestrator"
    if principal.role != ORCHESTRATOR or not managed:
        raise Forbidden(f'{principal.role} token for "{principal.sub}" cannot handle tokens of agent "{sub}"')


class TokenController(Controller):
    path = "/tokens"
    tags = ["tokens"]

    @get("/", name="tokens:list", opt={"scope": ADMIN_SCOPE})
    async def list_tokens(
        self, relay: RelayDep, limit: Annotated[int, QueryParameter(ge=1, le=500)] = 500
    ) -> list[TokenRecord]:
        """Every token's record, newest first (never the secret). Expired ones stay listed for 7 days."""
        return await relay.tokens.list(limit=limit)

    @post(
        "/",
        name="tokens:create",
        opt={"scope": ADMIN_SCOPE, "body_error": "token body required", **DELEGATED},
        status_code=201,
    )
    async def create(
        self, relay: RelayDep, principal: PrincipalDep, data: JSONBody[CreateTokenInput]
    ) -> Response[IssuedToken]:
        """Issue a signed token. `sub` defaults to the role; `scope` (or `scopes`) narrows what the role
        grants; `ttlSeconds` sets its lifetime. The secret `token` is in this answer only. An orchestrator
        token may issue `agent` tokens whose `sub` is an agent it manages (else 403)."""
        ttl_s = clean_positive_int(data.ttl_seconds, "ttlSeconds")
        scope = data.scope if data.scope is not None else (data.scopes or [])
        scope = [s.strip() for s in scope if s.strip()]
        problem = check_requested(data.role, scope)
        if problem:
            raise Invalid(problem)
        sub = (data.sub or "").strip() or data.role
        await _require_delegable(principal, data.role, sub, relay)
        created_by = (data.created_by or "").strip() or principal.sub
        if not principal.has(ADMIN_SCOPE):
            # A delegated issuer is always named as itself, so the record says who minted it.
            created_by = f"{principal.role}:{principal.sub}"
        issued = await relay.tokens.create(
            role=data.role, sub=sub, scope=scope, ttl_s=ttl_s, created_by=created_by
        )
        return Response(issued, status_code=201)

    @get("/{jti:str}", name="tokens:get", opt={"scope": ADMIN_SCOPE})
    async def get_token(self, relay: RelayDep, jti: FromPath[str]) -> TokenRecord:
        record = await relay.tokens.get(jti)
        if record is None:
            raise NotFound("token not found")
        return record

    @post("/{jti:str}/revoke", name="tokens:revoke", opt={"scope": ADMIN_SCOPE, **DELEGATED}, status_code=200)
    async def revoke(self, relay: RelayDep, principal: PrincipalDep, jti: FromPath[str]) -> Ok:
        """Revoke a token: every node refuses it from the next request on. An orchestrator token
        revokes only agent tokens of agents it manages."""
        if not principal.has(ADMIN_SCOPE):
            record = await relay.tokens.get(jti)
            if record is None or record.revoked_at is not None:
                raise NotFound("token not found or already revoked")
            await _require_delegable(principal, record.role, record.sub, relay)
        await relay.tokens.revoke(jti)
        return Ok()

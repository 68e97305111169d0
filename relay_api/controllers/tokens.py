"""API tokens: issue (the secret is shown once), list, read and revoke. Operator-only."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from relay_api.deps import PrincipalDep, RelayDep
from relay_api.responses import Ok
from relay_api.scopes import check_requested
from relay_model.auth.tokens import CreateTokenInput, IssuedToken, TokenRecord
from relay_model.errors import Invalid, NotFound


class TokenController(Controller):
    path = "/tokens"
    tags = ["tokens"]

    @get("/", name="tokens:list", opt={"scope": "tokens:admin"})
    async def list_tokens(
        self, relay: RelayDep, limit: Annotated[int, QueryParameter(ge=1, le=500)] = 500
    ) -> list[TokenRecord]:
        """Every token's record, newest first (never the secret). Expired ones stay listed for 7 days."""
        return await relay.tokens.list(limit=limit)

    @post(
        "/",
        name="tokens:create",
        opt={"scope": "tokens:admin", "body_error": "token body required"},
        status_code=201,
    )
    async def create(
        self, relay: RelayDep, principal: PrincipalDep, data: JSONBody[CreateTokenInput]
    ) -> Response[IssuedToken]:
        """Issue a signed token. `sub` defaults to the role; `scope` (or `scopes`) narrows what the role
        grants; `ttlSeconds` sets its lifetime. The secret `token` is in this answer only."""
        scope = data.scope if data.scope is not None else (data.scopes or [])
        scope = [s.strip() for s in scope if s.strip()]
        problem = check_requested(data.role, scope)
        if problem:
            raise Invalid(problem)
        sub = (data.sub or "").strip() or data.role
        created_by = (data.created_by or "").strip() or principal.sub
        issued = await relay.tokens.create(
            role=data.role, sub=sub, scope=scope, ttl_s=data.ttl_seconds, created_by=created_by
        )
        return Response(issued, status_code=201)

    @get("/{jti:str}", name="tokens:get", opt={"scope": "tokens:admin"})
    async def get_token(self, relay: RelayDep, jti: FromPath[str]) -> TokenRecord:
        record = await relay.tokens.get(jti)
        if record is None:
            raise NotFound("token not found")
        return record

    @post("/{jti:str}/revoke", name="tokens:revoke", opt={"scope": "tokens:admin"}, status_code=200)
    async def revoke(self, relay: RelayDep, jti: FromPath[str]) -> Ok:
        """Revoke a token: every node refuses it from the next request on."""
        await relay.tokens.revoke(jti)
        return Ok()

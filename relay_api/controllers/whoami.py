"""`GET /api/whoami`: the role, subject and scopes of the calling token.

The dashboard offers only the actions a token may take, so it asks what the token holds; any valid
token may ask about itself (its scopes narrow every other route, not this one).
"""

from __future__ import annotations

import msgspec
from litestar import Controller, get

from relay_api.auth import AUTHENTICATED, Principal
from relay_api.deps import PrincipalDep
from relay_api.scopes import AREAS, verbs_of


class Whoami(msgspec.Struct, rename="camel"):
    role: str
    sub: str
    # The signed token's id; null for the environment's admin token and integration tokens.
    jti: str | None
    # Every `<area>:<verb>` the token may use: its role's grant, narrowed by its own `scope` claim.
    scopes: list[str]
    narrowed: bool


def granted_scopes(principal: Principal) -> list[str]:
    return [f"{area}:{verb}" for area in AREAS for verb in verbs_of(area) if principal.has(f"{area}:{verb}")]


class WhoamiController(Controller):
    path = "/whoami"
    tags = ["system"]

    @get("/", name="auth:whoami", opt={"scope": AUTHENTICATED})
    async def whoami(self, principal: PrincipalDep) -> Whoami:
        """Who the token speaks for and every scope it holds (401 without a valid token)."""
        return Whoami(
            role=principal.role,
            sub=principal.sub,
            jti=principal.jti,
            scopes=granted_scopes(principal),
            narrowed=principal.narrow is not None,
        )

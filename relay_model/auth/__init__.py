"""Auth: API tokens and their roles.

- `tokens.py` signed tokens (JWT, HS256): issuing, records, revocation, the per-request check with
  the rate-limit counter, SSE connection leases (`TokenStore`);
- `roles.py`  the roles (what each may do is `relay_api/scopes.py`);
- `lua/`      the scripts (`auth_check`, `sse_lease`, `token_revoke`).

Depends on plumbing only.
"""

from relay_model.scripts import LuaBundle

LUA = LuaBundle(__name__)

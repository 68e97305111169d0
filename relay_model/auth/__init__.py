"""Auth: API tokens and their roles.

- `tokens.py` signed tokens (JWT, HS256): issuing, records, revocation, the per-request check with
  the rate-limit counter, SSE connection leases (`TokenStore`);
- `roles.py`  the roles (what each may do is `relay_api/scopes.py`);
- `lua/`      the scripts (`token_check`, `sse_lease`, `token_revoke`) and the token guard
  (`_token_guard.lua`) that the request path runs at the start of its work's script.

Depends on plumbing only.
"""

from relay_model.scripts import LuaBundle

LUA = LuaBundle(__name__)

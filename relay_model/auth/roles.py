"""Token roles. What each role may do is the scope table in `relay_api/scopes.py`; each role's default
rate limit is `relay_model.settings.DEFAULT_RATE_PER_MINUTE`."""

from __future__ import annotations

from typing import Final, Literal

Role = Literal["admin", "operator", "orchestrator", "agent", "integration", "viewer"]
ROLES: Final = ("admin", "operator", "orchestrator", "agent", "integration", "viewer")

# Roles whose token speaks for one principal (`sub`) and may act only as it (see relay_api/ownership.py).
AGENT: Final = "agent"
ORCHESTRATOR: Final = "orchestrator"

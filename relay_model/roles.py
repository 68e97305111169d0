"""Token roles. What each role may do is the scope table in `relay_api/scopes.py`."""

from __future__ import annotations

from typing import Final, Literal

Role = Literal["admin", "operator", "orchestrator", "agent", "integration", "viewer"]
ROLES: Final = ("admin", "operator", "orchestrator", "agent", "integration", "viewer")

# Roles whose token speaks for one principal (`sub`) and may act only as it (see relay_api/ownership.py).
AGENT: Final = "agent"
ORCHESTRATOR: Final = "orchestrator"

# Requests per token per minute, across all nodes (0 = unlimited). High enough that an agent polling
# its inbox every second and heartbeating stays far below; an orchestrator speaks for many agents.
DEFAULT_RATE_PER_MINUTE: Final[dict[str, int]] = {
    "admin": 0,
    "operator": 3000,
    "orchestrator": 6000,
    "agent": 1200,
    "integration": 1200,
    "viewer": 1200,
}

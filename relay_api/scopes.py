"""Roles and the scopes they grant: the one table the auth guard and the README use.

A scope is `<area>:<verb>`. Every route declares the one it needs (`opt={"scope": ...}`); a token
carries a role, which grants the scopes below, and may carry a `scope` claim that narrows them
further (it never widens them). The table is keyed by area and verb, not by route, so routes added
later in an area are covered by the same rows.
"""

from __future__ import annotations

from typing import Final

from relay_model.auth.roles import ROLES

AREAS: Final = (
    "agents",
    "messages",
    "activity",
    "events",
    "tasks",
    "channels",
    "pairs",
    "integrations",
    "commands",
    "orchestrators",
    "recipes",
    "automations",
    "tokens",
    "providers",
    "connectors",
    "system",
)
# `read` for GETs, `write` for changes, `admin` for operator-only actions (delete, reap, broadcast,
# tokens, provider config writes); a few areas split `write` into finer verbs.
VERBS: Final = ("read", "write", "admin")
SPECIAL_VERBS: Final[dict[str, tuple[str, ...]]] = {
    "agents": ("register", "heartbeat"),
    "messages": ("send", "claim"),
    # Issue and revoke agent tokens for the agents one manages (an orchestrator's spawned agents);
    # the token routes check the rest (relay_api/controllers/tokens.py).
    "tokens": ("delegate",),
}
ALL: Final = "*"


def verbs_of(area: str) -> tuple[str, ...]:
    return (*VERBS, *SPECIAL_VERBS.get(area, ()))


def _every(area: str, *, admin: bool = False) -> tuple[str, ...]:
    return tuple(v for v in verbs_of(area) if admin or v != "admin")


READ: Final = ("read",)
RW: Final = ("read", "write")

# role -> area -> verbs. `{"*": ("*",)}` is everything, including scopes no row names yet.
ROLE_SCOPES: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "admin": {ALL: (ALL,)},
    # A human at the dashboard: runs everything day to day, but no operator-only (`admin`) actions.
    "operator": {area: _every(area) for area in AREAS if area != "tokens"},
    # An orchestrator on a developer host: its own record, the agents it spawns, their traffic.
    "orchestrator": {
        "agents": _every("agents"),
        "messages": _every("messages"),
        "activity": RW,
        "events": READ,
        "tasks": RW,
        "channels": READ,
        "pairs": RW,
        "commands": RW,
        "orchestrators": RW,
        "recipes": READ,
        "providers": READ,
        "connectors": READ,
        "tokens": ("delegate",),
    },
    # One agent: acts only as itself (relay_api/ownership.py); sees the directory, tasks and commands.
    "agent": {
        "agents": _every("agents"),
        "messages": _every("messages"),
        "activity": RW,
        "events": READ,
        "tasks": RW,
        "channels": READ,
        "pairs": RW,
        "commands": RW,
        "orchestrators": READ,
        "recipes": READ,
    },
    # An external system (ticket tracker, CI) posting events that become tasks.
    "integration": {
        "integrations": RW,
        "tasks": RW,
        "channels": READ,
        "agents": READ,
        "events": READ,
    },
    # Read-only: every area's `read` (token records are operator-only, like every token route).
    "viewer": {area: READ for area in AREAS if area != "tokens"},
}

assert set(ROLE_SCOPES) == set(ROLES), "every role needs a row in ROLE_SCOPES"


def role_scopes(role: str) -> frozenset[str]:
    """The scopes a role grants, as patterns (`*`, `area:verb`); unknown roles grant nothing."""
    rows = ROLE_SCOPES.get(role, {})
    return frozenset(ALL if area == ALL else f"{area}:{verb}" for area, verbs in rows.items() for verb in verbs)


def matches(patterns: frozenset[str], scope: str) -> bool:
    """Whether `scope` is granted by any of `patterns` (`*`, `area:*` or exactly `area:verb`)."""
    if ALL in patterns or scope in patterns:
        return True
    area, sep, _ = scope.partition(":")
    return bool(sep) and f"{area}:*" in patterns


def check_requested(role: str, requested: list[str]) -> str | None:
    """Why a token of `role` cannot carry the `scope` claim `requested`, or None when it can."""
    granted = role_scopes(role)
    for item in requested:
        if item == ALL:
            continue
        area, sep, verb = item.partition(":")
        if not sep or area not in AREAS or (verb != ALL and verb not in verbs_of(area)):
            return f"scope {item} is not a known scope (use <area>:<verb>, <area>:* or *)"
        if verb != ALL and not matches(granted, item):
            return f"scope {item} is not granted to role {role}"
    return None


def markdown_table() -> str:
    """The roles table as the README shows it (a test keeps the README in step)."""
    roles = list(ROLES)
    lines = [
        "| area | " + " | ".join(roles) + " |",
        "|---|" + "---|" * len(roles),
    ]
    for area in AREAS:
        cells = []
        for role in roles:
            rows = ROLE_SCOPES[role]
            if ALL in rows:
                cells.append("all")
            else:
                cells.append(", ".join(rows.get(area, ())) or "—")
        lines.append(f"| {area} | " + " | ".join(cells) + " |")
    return "\n".join(lines)

"""Dependencies handed to route handlers."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from relay_api.auth import Principal, principal_of
from relay_model.agents.agents import SessionGuard
from relay_model.relay import Relay


def provide_relay(state: State) -> Relay:
    relay: Relay = state.relay
    return relay


def session_guard(request: Request[Any, Any, Any], session_id: str | None, started_at: int | None) -> SessionGuard:
    """The session a request speaks for: from the body, else the `X-Agent-Session-*` headers."""
    sid = session_id or request.headers.get("x-agent-session-id") or ""
    raw_started = request.headers.get("x-agent-session-started-at", "")
    # Only plain ASCII digits of a sane length: `int()` accepts other digits and refuses 4300+ of them.
    valid = raw_started.isascii() and raw_started.isdigit() and len(raw_started) <= 16
    started = started_at if started_at is not None else (int(raw_started) if valid else 0)
    return SessionGuard(session_id=sid, started_at=started)


# Handlers take `relay: RelayDep`: the stores of this process, built once at start-up.
RelayDep = NamedDependency[Relay]


def provide_principal(request: Request[Any, Any, Any], relay: RelayDep) -> Principal:
    """Who the request's token speaks for (set by the auth guard).

    It takes `relay`, which it does not use, so that Litestar resolves the two one after the other:
    independent dependencies of one handler are resolved concurrently in an anyio task group, two
    tasks per request for two plain lookups (~50 µs of a send's CPU time, bench/PROFILE.md).
    """
    del relay
    return principal_of(request)


# Handlers that check ownership take `principal: PrincipalDep`.
PrincipalDep = NamedDependency[Principal]

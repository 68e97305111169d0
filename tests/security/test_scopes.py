"""The scope table: every /api route declares a known scope; roles grant what the README says."""

from __future__ import annotations

from pathlib import Path

from relay_api.app import create_app
from relay_api.auth import AUTHENTICATED, PUBLIC, Principal
from relay_api.scopes import AREAS, ROLE_SCOPES, check_requested, markdown_table, matches, role_scopes, verbs_of
from relay_model.auth.roles import ROLES
from relay_model.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def _api_handlers() -> list[tuple[str, str, dict[str, object]]]:
    app = create_app(Settings(admin_token="x"))
    out = []
    for route in app.routes:
        if not route.path.startswith("/api"):
            continue
        for handler in route.route_handlers:
            methods = set(getattr(handler, "http_methods", ()) or ()) - {"OPTIONS", "HEAD"}
            for method in methods:
                out.append((method, route.path, handler.opt))
    return out


def test_every_api_route_declares_a_known_scope() -> None:
    handlers = _api_handlers()
    assert len(handlers) > 20
    problems = []
    for method, path, opt in handlers:
        scope = opt.get("scope")
        if scope == PUBLIC:
            if path != "/api/health":
                problems.append(f"{method} {path} is public")
            continue
        if scope == AUTHENTICATED:
            # Any valid token, no scope: only the route that tells a token about itself.
            if (method, path) != ("GET", "/api/whoami"):
                problems.append(f"{method} {path} needs no scope")
            continue
        if not isinstance(scope, str):
            problems.append(f"{method} {path} declares no scope")
            continue
        area, _, verb = scope.partition(":")
        if area not in AREAS or verb not in verbs_of(area):
            problems.append(f"{method} {path} has scope {scope!r}, not <area>:<verb> from relay_api/scopes.py")
        elif method == "GET" and verb != "read" and area != "tokens":
            problems.append(f"{method} {path} reads with scope {scope}")
    assert problems == []


def test_viewer_is_read_only_and_admin_has_everything() -> None:
    viewer = Principal(role="viewer", sub="v", scopes=role_scopes("viewer"))
    admin = Principal(role="admin", sub="a", scopes=role_scopes("admin"))
    for method, path, opt in _api_handlers():
        scope = str(opt["scope"])
        if scope in (PUBLIC, AUTHENTICATED):
            continue
        assert admin.has(scope)
        assert viewer.has(scope) == (method == "GET" and scope.endswith(":read")), (method, path)
    assert admin.has("admin")  # routes that forgot their scope are admin-only


def test_roles_table_matches_the_readme() -> None:
    assert set(ROLE_SCOPES) == set(ROLES)
    assert markdown_table() in README.read_text(), "README's roles table is out of date: paste markdown_table()"


def test_narrowing_and_wildcards() -> None:
    agent = role_scopes("agent")
    assert matches(agent, "messages:send") and not matches(agent, "messages:admin")
    assert matches(frozenset({"messages:*"}), "messages:claim")
    assert not matches(frozenset({"messages:*"}), "agents:read")
    narrowed = Principal(role="agent", sub="a", scopes=agent, narrow=frozenset({"messages:*"}))
    assert narrowed.has("messages:send") and not narrowed.has("agents:read")
    # Narrowing never widens: a wildcard claim stays inside what the role grants.
    assert not narrowed.has("messages:admin")
    assert check_requested("agent", ["messages:*", "*", "agents:read"]) is None
    assert check_requested("agent", ["tokens:admin"]) == "scope tokens:admin is not granted to role agent"
    assert check_requested("viewer", ["agents:fly"]) is not None
    assert check_requested("viewer", ["nope:read"]) is not None

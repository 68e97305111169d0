"""`relay token create|list|revoke`: manage API tokens on a running relay (prints JSON).

The relay is `AGENT_RELAY_URL` (default http://127.0.0.1:4850); the admin token comes from
`--token` or `AGENT_RELAY_ADMIN_TOKEN`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

DEFAULT_URL = "http://127.0.0.1:4850"


def _call(args: argparse.Namespace, method: str, path: str, body: dict[str, Any] | None = None) -> int:
    import httpx

    token = args.token or os.environ.get("AGENT_RELAY_ADMIN_TOKEN", "")
    if not token:
        print("no admin token: pass --token or set AGENT_RELAY_ADMIN_TOKEN", file=sys.stderr)
        return 2
    url = (args.url or os.environ.get("AGENT_RELAY_URL") or DEFAULT_URL).rstrip("/")
    try:
        response = httpx.request(
            method, url + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10.0
        )
    except httpx.HTTPError as exc:
        print(f"cannot reach the relay at {url}: {exc}", file=sys.stderr)
        return 1
    try:
        payload: Any = response.json()
    except ValueError:
        payload = {"error": response.text}
    out = sys.stdout if response.is_success else sys.stderr
    print(json.dumps(payload, indent=2), file=out)
    return 0 if response.is_success else 1


def _create(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"role": args.role}
    if args.sub:
        body["sub"] = args.sub
    if args.scope:
        body["scope"] = [s.strip() for s in args.scope.split(",") if s.strip()]
    if args.ttl_seconds is not None:
        body["ttlSeconds"] = args.ttl_seconds
    if args.created_by:
        body["createdBy"] = args.created_by
    return _call(args, "POST", "/api/tokens", body)


def _list(args: argparse.Namespace) -> int:
    return _call(args, "GET", "/api/tokens")


def _revoke(args: argparse.Namespace) -> int:
    return _call(args, "POST", f"/api/tokens/{args.jti}/revoke")


def add_token_commands(sub: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=None, help=f"the relay (default $AGENT_RELAY_URL or {DEFAULT_URL})")
    common.add_argument("--token", default=None, help="admin token (default $AGENT_RELAY_ADMIN_TOKEN)")

    token = sub.add_parser("token", help="create, list or revoke API tokens on a running relay")
    actions = token.add_subparsers(dest="token_command", required=True)

    create = actions.add_parser("create", parents=[common], help="issue a token (its secret is printed once)")
    create.add_argument("--role", required=True, help="admin, operator, orchestrator, agent, integration, viewer")
    create.add_argument("--sub", default=None, help="who it speaks for (agent or orchestrator id; default: the role)")
    create.add_argument("--scope", default=None, help="comma-separated scopes narrowing the role's")
    create.add_argument("--ttl-seconds", type=int, default=None)
    create.add_argument("--created-by", default=None)
    create.set_defaults(func=_create)

    listing = actions.add_parser("list", parents=[common], help="list tokens (never their secrets)")
    listing.set_defaults(func=_list)

    revoke = actions.add_parser("revoke", parents=[common], help="revoke a token by its jti")
    revoke.add_argument("jti")
    revoke.set_defaults(func=_revoke)

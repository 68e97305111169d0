"""`relay tokens create|list|show|revoke`, and `relay token …`, today's spelling, kept as an alias.

The alias prints JSON whatever the flags, as `relay token` always did: the record and the secret on
`create`, the records on `list`, `{"ok": true}` on `revoke`; a refusal prints the relay's
`{"error": …}` to stderr and exits 1, no token exits 2.
"""

from __future__ import annotations

import click

from relay_client.cli.common import ago, client, emit, fields, options, split_csv, stamp, table
from relay_client.models import TOKEN_ROLES, TokenRecord


def tokens_group(name: str, *, always_json: bool) -> click.Group:
    @click.group(name, invoke_without_command=not always_json)
    @options
    @click.pass_context
    def group(ctx: click.Context) -> None:
        if always_json:
            ctx.meta["relay.json"] = True  # the meta dict is shared with the subcommand's context
        if ctx.invoked_subcommand is None:
            ctx.invoke(listing)

    group.help = (
        "Create, list or revoke API tokens (JSON output; `relay tokens` is the same with tables)."
        if always_json
        else "API tokens (admin token needed): list (the default), create, show, revoke."
    )

    @group.command("create")
    @options
    # Not a click.Choice: the relay judges the role (its answer, exit 1, as `relay token` always had).
    @click.option("--role", required=True, help=f"What the token may do: {', '.join(TOKEN_ROLES)}.")
    @click.option("--sub", help="Whom it speaks for (an agent or orchestrator id; default: the role).")
    @click.option("--scope", help="Comma-separated scopes narrowing the role's (e.g. messages:*,agents:read).")
    @click.option("--ttl-seconds", type=int, help="Lifetime (default 90 days).")
    @click.option("--created-by")
    def create(
        role: str,
        sub: str | None,
        scope: str | None,
        ttl_seconds: int | None,
        created_by: str | None,
    ) -> None:
        """Issue a token; its secret is printed this once."""
        issued = client().tokens.create(
            role, sub=sub, scope=split_csv(scope), ttl_seconds=ttl_seconds, created_by=created_by
        )

        def human() -> None:
            show_token(issued)
            click.echo(f"\ntoken (shown once): {issued.token}")

        emit(issued, human)

    @group.command("list")
    @options
    @click.option("--limit", type=int)
    def listing(limit: int | None = None) -> None:
        """List token records (never their secrets)."""
        found = client().tokens.list(limit=limit)
        emit(
            found,
            lambda: table(
                ["JTI", "ROLE", "SUB", "SCOPE", "EXPIRES", "CREATED", "REVOKED"],
                (
                    [t.jti, t.role, t.sub, t.scope, stamp(t.expires_at), ago(t.created_at), ago(t.revoked_at)]
                    for t in found
                ),
                title="tokens",
            ),
        )

    if not always_json:
        group.add_command(listing, "ls")

    @group.command("show")
    @options
    @click.argument("jti")
    def show(jti: str) -> None:
        """Show one token record."""
        record = client().tokens.get(jti)
        emit(record, lambda: show_token(record))

    @group.command("revoke")
    @options
    @click.argument("jti")
    def revoke(jti: str) -> None:
        """Revoke a token: every node refuses it from the next request on."""
        client().tokens.revoke(jti)
        emit({"ok": True}, lambda: click.echo(f"revoked {jti}"))

    return group


def show_token(record: TokenRecord) -> None:
    fields(
        [
            ("jti", record.jti),
            ("role", record.role),
            ("sub", record.sub),
            ("scope", record.scope),
            ("expires", stamp(record.expires_at)),
            ("created", ago(record.created_at)),
            ("created by", record.created_by),
            ("revoked", ago(record.revoked_at)),
        ]
    )


tokens = tokens_group("tokens", always_json=False)
token = tokens_group("token", always_json=True)

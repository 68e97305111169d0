"""What every `relay` command shares: `--url/--token/--json`, the client, output, and failure.

The three options work on the root (`relay --json agents`) and on any command (`relay agents ls
--json`); the command's own wins. Output is a table for people, or JSON (`--json`: the relay's
records with their camelCase fields, one document, or one per line for streams). A call the relay
refuses prints its error text and exits 1; a missing token or bad usage exits 2.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console
from rich.table import Table

from relay_client import Client, RelayError
from relay_client.models import Model

F = TypeVar("F", bound=Callable[..., Any])

# Piped output is not squeezed to 80 columns: tables stay one row per line for grep and less.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False)

NO_TOKEN = (
    "no token: pass --token, set AGENT_RELAY_TOKEN (or AGENT_RELAY_ADMIN_TOKEN), "  # noqa: S105 - a message
    "or run `relay dev` on this machine (its admin token is then found in its data dir)"
)


def _store(key: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _: click.Parameter, value: Any) -> None:
        if value is not None and value is not False:
            ctx.meta[key] = value

    return callback


def options(fn: F) -> F:
    """`--url`, `--token`, `--json` on a command or group."""
    fn = click.option(
        "--json",
        "json_out",
        is_flag=True,
        default=None,
        expose_value=False,
        callback=_store("relay.json"),
        help="Print JSON instead of tables (exit code says whether the call succeeded).",
    )(fn)
    fn = click.option(
        "--token",
        default=None,
        expose_value=False,
        callback=_store("relay.token"),
        help="API token (default: $AGENT_RELAY_TOKEN, $AGENT_RELAY_ADMIN_TOKEN, or relay dev's admin token).",
    )(fn)
    fn = click.option(
        "--url",
        default=None,
        expose_value=False,
        callback=_store("relay.url"),
        help="The relay (default: $AGENT_RELAY_URL, relay dev's URL, or http://127.0.0.1:4850).",
    )(fn)
    return fn


def json_mode() -> bool:
    return bool(click.get_current_context().meta.get("relay.json"))


def client(*, token_required: bool = True, **kwargs: Any) -> Client:
    meta = click.get_current_context().meta
    relay = Client(meta.get("relay.url"), meta.get("relay.token"), **kwargs)
    if token_required and not relay.token:
        relay.close()
        usage_error(NO_TOKEN)
    ctx = click.get_current_context()
    ctx.call_on_close(relay.close)
    return relay


def usage_error(text: str) -> NoReturn:
    if json_mode():
        print(json.dumps({"error": text}), file=sys.stderr)
    else:
        err.print(f"[red]error:[/red] {text}", markup=True)
    sys.exit(2)


def failed(exc: RelayError) -> NoReturn:
    """Print the relay's refusal (its own JSON body with --json) and exit 1."""
    if json_mode():
        body = exc.body if isinstance(exc.body, dict) else {"error": exc.error}
        print(json.dumps(body, indent=2, ensure_ascii=False), file=sys.stderr)
    else:
        where = f"{exc.status} " if exc.status else ""
        err.print(f"error: {where}{exc.error}", markup=False)
    sys.exit(1)


def plain(value: Any) -> Any:
    if isinstance(value, Model):
        return value.to_dict()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def emit(value: Any, human: Callable[[], None] | None = None) -> None:
    """The answer: JSON with --json (indented, as `relay token` always printed), else `human()`."""
    if json_mode() or human is None:
        print(json.dumps(plain(value), indent=2, ensure_ascii=False))
    else:
        human()


def emit_line(value: Any, human: Callable[[], None]) -> None:
    """One item of a stream: a JSON line with --json, else `human()`."""
    if json_mode():
        print(json.dumps(plain(value), ensure_ascii=False), flush=True)
    else:
        human()


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None) -> None:
    grid = Table(*columns, title=title, box=None, header_style="bold", pad_edge=False, expand=False)
    count = 0
    for row in rows:
        grid.add_row(*(cell(v) for v in row))
        count += 1
    if count:
        out.print(grid)
    else:
        out.print(f"[dim](no {title or 'rows'})[/dim]")


def fields(pairs: Iterable[tuple[str, Any]]) -> None:
    grid = Table(show_header=False, box=None, pad_edge=False)
    grid.add_column(style="bold")
    grid.add_column()
    for name, value in pairs:
        grid.add_row(name, cell(value))
    out.print(grid)


def cell(value: Any) -> str:
    if value is None or value == [] or value == {}:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# (below this many seconds, seconds per unit, long unit, short unit); days beyond the last.
_SPANS = ((90, 1, " s", "s"), (5400, 60, " min", "m"), (172800, 3600, " h", "h"))


def span(seconds: float, *, short: bool = False) -> str:
    """A span for people in the unit that reads best: `45 s`/`45s`, `50 min`/`50m`, `5.0 h`/`5h`,
    `30.0 days`/`30d` (an hour is never `0.0 days`)."""
    seconds = max(0.0, seconds)
    unit = next((u for u in _SPANS if seconds < u[0]), (0, 86400, " days", "d"))
    _, size, long_unit, short_unit = unit
    if short:
        return f"{seconds / size:.0f}{short_unit}"
    return f"{seconds / size:.0f}{long_unit}" if size < 3600 else f"{seconds / size:.1f}{long_unit}"


def ago(ms: int | None) -> str:
    """How long ago an epoch-millisecond stamp was (`12s ago`; empty for none)."""
    if not ms:
        return ""
    return f"{span(time.time() - ms / 1000, short=True)} ago"


def clock(ms: int | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ms / 1000)) if ms else ""


def stamp(ms: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ms / 1000)) if ms else ""


def parse_json(text: str | None, what: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        usage_error(f"{what} is not valid JSON: {exc}")


def split_csv(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


class RelayGroup(click.Group):
    """A group whose commands' RelayErrors end the program with the relay's text (exit 1)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RelayError as exc:
            failed(exc)

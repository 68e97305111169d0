"""Lua scripts: loaded once from `lua/*.lua` with the shared prelude, registered once per client.

Scripts take their fixed keys in KEYS. Keys that depend on data (the inbox of each member of a
tag, say) are built inside the script from key prefixes that are written into the source at load
time from `relay_model.keys` (the `$NAME$` markers), so keys.py stays the one place that knows the
layout and every such key shares the group's hash tag.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from . import keys
from .errors import Conflict, Forbidden, Invalid, NotFound, RelayError, Unprocessable

_ERRORS: dict[str, type[RelayError]] = {
    "400": Invalid,
    "403": Forbidden,
    "404": NotFound,
    "409": Conflict,
    "422": Unprocessable,
}

# Marker -> key prefix. Domain modules add theirs with `register_templates` at import time.
TEMPLATES: dict[str, str] = {
    "__EVENTS_CHANNEL__": keys.EVENTS_CHANNEL,
    "$AGENT$": keys.agent(""),
    "$AGENTS_BY_STATUS$": keys.agents_by("status", ""),
    "$AGENTS_BY_TAG$": keys.agents_by("tag", ""),
    "$AGENTS_BY_CAP$": keys.agents_by("cap", ""),
    "$AGENTS_BY_LABEL$": keys.agents_by("label", ""),
    "$AGENTS_BY_KIND$": keys.agents_by("kind", ""),
    "$MESSAGE$": keys.message(""),
    "$MESSAGES_BY_FROM$": keys.messages_by("from", ""),
    "$MESSAGES_BY_TO$": keys.messages_by("to", ""),
    "$MESSAGES_BY_KIND$": keys.messages_by("kind", ""),
    "$MESSAGES_BY_CHANNEL$": keys.messages_by("channel", ""),
    "$INBOX$": keys.inbox(""),
    "$ACTIVITY$": keys.activity(""),
    "$ACTIVITY_BY_KIND$": keys.activity_by("kind", ""),
    "$ACTIVITY_BY_AGENT$": keys.activity_by("agent", ""),
    "$ACTIVITY_CLIENT$": keys.activity_client(""),
}


def register_templates(extra: dict[str, str]) -> None:
    TEMPLATES.update(extra)
    source.cache_clear()


@cache
def source(name: str) -> str:
    lua = resources.files("relay_model") / "lua"
    text = (lua / "_prelude.lua").read_text() + "\n" + (lua / f"{name}.lua").read_text()
    for marker, value in TEMPLATES.items():
        text = text.replace(marker, value)
    if "$" in text.replace("'$'", ""):
        unknown = [part.split("$")[0] for part in text.split("$")[1::2]]
        raise RuntimeError(f"lua script {name} has unknown key templates: {unknown}")
    return text


def _names() -> list[str]:
    lua = resources.files("relay_model") / "lua"
    return sorted(p.name[:-4] for p in lua.iterdir() if p.name.endswith(".lua") and not p.name.startswith("_"))


class Scripts:
    """Every script registered on one client; `await scripts.run(name, keys, args)` calls one."""

    def __init__(self, redis: Redis) -> None:
        self._scripts: dict[str, AsyncScript] = {name: redis.register_script(source(name)) for name in _names()}

    async def run(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        return await self._scripts[name](keys=list(keys), args=list(args))

    async def run_checked(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> list[Any]:
        """Run a script that answers `{'ok', …}` or `{'err', code, text}`; raise the error."""
        result = await self.run(name, keys, args)
        if result[0] == "err":
            raise _ERRORS.get(str(result[1]), Invalid)(str(result[2]))
        return list(result[1:])

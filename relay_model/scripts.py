"""Lua scripts: each package's `lua/*.lua`, loaded with the shared prelude and registered once per client.

A package hands its scripts over as a `LuaBundle`: the package whose `lua/` folder holds them, and
the key templates they use. The composition root (`relay_model.relay`) lists every bundle and
builds one `Scripts` from them; nothing registers a script or a template by being imported.

Scripts take their fixed keys in KEYS. Keys that depend on data (the inbox of each member of a tag,
say) are built inside the script from key prefixes that are written into the source at load time
from `relay_model.keys` (the `$NAME$` markers), so keys.py stays the one place that knows the layout
and every such key shares the group's hash tag.

Every script gets `relay_model/lua/_prelude.lua` prepended. A package's other `lua/_<name>.lua`
files are its libraries: a script of that package that says `--[[include:<name>]]` on a line of its
own gets the library, its templates filled in, in place of that marker (unreplaced, the marker is a
plain Lua comment).

Every call's keys must hash to one Redis Cluster slot (they share their group's hash tag by design,
see relay_model.keys): `Scripts.run` checks that before sending, on a plain Redis too, so a script
call that would fail on a cluster fails in every test run, naming the script and its keys. On a
cluster the client routes EVALSHA by that slot, and loads a script on every primary when one answers
NOSCRIPT (after a restart or a failover).

**Guards.** A `ScriptGuard` is a check that must pass before a script's work, run at the start of
that script in the same round trip: the token check of a request (revoked? over its rate limit?),
which would otherwise cost a round trip of its own on every request. Its Lua (a guard *kind*, given
to `Scripts` by the composition root) is prepended to the script; its KEYS and ARGV are appended to
the script's own and taken off again before the script's code runs, so the script sees exactly its
usual KEYS and ARGV. A refusal is a Redis error reply `RELAY_GUARD <reason>`, raised as the guard's
own error (`refusal(reason)`), and the script's work does not happen. The guard's keys live in
another hash-tag group than the script's, so a guarded call needs a single Redis; on a cluster the
caller checks first instead (`run(name, [], [], guard=…)` runs the guard alone, in its own slot).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from importlib.abc import Traversable
from typing import Any, Final

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript
from redis.crc import key_slot
from redis.exceptions import ResponseError

from relay_model import keys
from relay_model.errors import Conflict, Forbidden, Invalid, NotFound, RelayError, Unprocessable

_ERRORS: dict[str, type[RelayError]] = {
    "400": Invalid,
    "403": Forbidden,
    "404": NotFound,
    "409": Conflict,
    "422": Unprocessable,
}

PRELUDE = "_prelude.lua"
# How a guard's Lua refuses: `redis.error_reply(GUARD_REFUSED .. reason)`.
GUARD_REFUSED: Final = "RELAY_GUARD "


@dataclass(frozen=True, slots=True)
class LuaBundle:
    """The scripts in `<package>/lua/` and the key templates (marker -> key prefix) they use."""

    package: str
    templates: Mapping[str, str] = field(default_factory=dict)

    def folder(self) -> Traversable:
        return resources.files(self.package) / "lua"


# The prelude's own templates; the scripts of every bundle get them.
PRELUDE_TEMPLATES: Mapping[str, str] = {
    "__EVENTS_CHANNEL__": keys.EVENTS_CHANNEL,
    "$AGENTS_BY_STATUS$": keys.agents_by("status", ""),
    "$ACTIVITY$": keys.activity(""),
    "$ACTIVITY_BY_KIND$": keys.activity_by("kind", ""),
    "$ACTIVITY_BY_AGENT$": keys.activity_by("agent", ""),
    "$ACTIVITY_CLIENT$": keys.activity_client(""),
}

# The scripts of this folder (the activity feed, the event log) need only the prelude's templates.
PLUMBING = LuaBundle("relay_model")


def _fill(text: str, templates: Mapping[str, str]) -> str:
    for marker, value in templates.items():
        text = text.replace(marker, value)
    return text


def load_bundle(bundle: LuaBundle) -> dict[str, str]:
    """Every script of the bundle: name -> the source Redis runs (prelude, libraries and templates applied)."""
    templates = {**PRELUDE_TEMPLATES, **bundle.templates}
    prelude = (PLUMBING.folder() / PRELUDE).read_text()
    files = sorted((p for p in bundle.folder().iterdir() if p.name.endswith(".lua")), key=lambda p: p.name)
    libraries = {
        f"--[[include:{p.name[1:-4]}]]": _fill(p.read_text(), templates)
        for p in files
        if p.name.startswith("_") and p.name != PRELUDE
    }
    sources: dict[str, str] = {}
    for path in files:
        if path.name.startswith("_"):
            continue
        name = path.name[:-4]
        text = prelude + "\n" + path.read_text()
        for marker, library in libraries.items():
            text = text.replace(marker, library)
        text = _fill(text, templates)
        if "$" in text.replace("'$'", ""):
            unknown = [part.split("$")[0] for part in text.split("$")[1::2]]
            raise RuntimeError(f"lua script {bundle.package}/lua/{name} has unknown key templates: {unknown}")
        sources[name] = text
    return sources


@dataclass(slots=True, eq=False)
class ScriptGuard:
    """A check run at the start of one script call (see the module docstring). `used` tells whoever
    made the guard whether a script ran it, or it still has to be checked (`Scripts.run` with no keys)."""

    kind: str
    keys: tuple[str, ...]
    args: tuple[Any, ...]
    refusal: Callable[[str], RelayError]
    used: bool = False


class CrossSlotScript(RuntimeError):
    """A script call whose keys do not share one cluster slot (a bug in the caller, never bad input)."""


def hash_tag(key: str) -> str:
    """The part of a key Redis Cluster hashes: the text inside the first `{…}`, else the whole key."""
    start = key.find("{")
    if start >= 0:
        end = key.find("}", start + 1)
        if end > start + 1:
            return key[start + 1 : end]
    return key


def check_one_slot(name: str, keys: Sequence[str]) -> None:
    """Raise CrossSlotScript unless every key of one call of script `name` hashes to one slot."""
    if not keys:
        raise CrossSlotScript(f"lua script {name} was called without keys: a cluster could not route it")
    first = hash_tag(keys[0])
    if all(hash_tag(key) == first for key in keys[1:]):
        return
    slots = {key: key_slot(key.encode()) for key in keys}
    if len(set(slots.values())) > 1:
        where = ", ".join(f"{key} -> slot {slot}" for key, slot in slots.items())
        raise CrossSlotScript(f"lua script {name} was called with keys in different cluster slots: {where}")


class Scripts:
    """The scripts of the given bundles, registered on one client; `await scripts.run(name, keys, args)` calls one."""

    def __init__(self, redis: Redis, bundles: Sequence[LuaBundle], guards: Mapping[str, str] | None = None) -> None:
        self._redis = redis
        self._sources: dict[str, str] = {}
        for bundle in bundles:
            for name, text in load_bundle(bundle).items():
                if name in self._sources:
                    raise RuntimeError(f"lua script {name} is in two bundles (the second: {bundle.package})")
                self._sources[name] = text
        self._scripts: dict[str, AsyncScript] = {
            name: redis.register_script(text) for name, text in self._sources.items()
        }
        self._guards = dict(guards or {})
        # (script, guard kind) -> the script with the guard in front, registered on first use.
        self._guarded: dict[tuple[str, str], AsyncScript] = {}
        # A guard's keys and a script's are in different hash-tag groups: one call only on one Redis.
        self.guards_ride_along = not isinstance(redis, RedisCluster)

    def source(self, name: str) -> str:
        """The text Redis runs for one script (for tools that load it themselves)."""
        return self._sources[name]

    async def run(
        self, name: str, keys: Sequence[str], args: Sequence[Any], *, guard: ScriptGuard | None = None
    ) -> Any:
        """Run one script. With `guard`, the guard's check first, in the same call (see the module
        docstring); with a guard and no keys of its own, the guard's check alone (in its own slot)."""
        if guard is None:
            check_one_slot(name, keys)
            return await self._scripts[name](keys=list(keys), args=list(args))
        if keys:
            check_one_slot(name, keys)
            if not self.guards_ride_along:
                raise CrossSlotScript(f"lua script {name} cannot carry a {guard.kind} guard on a Redis Cluster")
        check_one_slot(f"{guard.kind} guard", guard.keys)
        script = self._guarded.get((name, guard.kind))
        if script is None:
            script = self._redis.register_script(self._guards[guard.kind] + "\n" + self._sources[name])
            self._guarded[(name, guard.kind)] = script
        guard.used = True
        try:
            return await script(keys=[*keys, *guard.keys], args=[*args, *guard.args])
        except ResponseError as exc:
            text = str(exc)
            if not text.startswith(GUARD_REFUSED):
                raise
            raise guard.refusal(text[len(GUARD_REFUSED) :].split(" ", 1)[0].strip()) from None

    async def run_checked(
        self, name: str, keys: Sequence[str], args: Sequence[Any], *, guard: ScriptGuard | None = None
    ) -> list[Any]:
        """Run a script that answers `{'ok', …}` or `{'err', code, text}`; raise the error."""
        result = await self.run(name, keys, args, guard=guard)
        if result[0] == "err":
            raise _ERRORS.get(str(result[1]), Invalid)(str(result[2]))
        return list(result[1:])

"""Commands: the typed control requests (spawn, restart, shutdown, connector actions, …) sent to a target.

State machine (every change is one compare-and-set Lua script, `lua/command_update.lua`, that also
emits the event into the `cmd` stream):

    pending  -> accepted | running | succeeded | failed | rejected | canceled | timed_out
    accepted -> accepted | running | succeeded | failed | rejected | canceled | timed_out
    running  -> running  | succeeded | failed | canceled | timed_out
    succeeded, failed, rejected, canceled, timed_out: final — never change again (409).

A command starts `pending` (`command.requested`); each later change emits `command.<status>`.
Repeating `accepted` or `running` reports progress (result/error) without a transition. `canceled`
comes from `DELETE /api/commands/:id` (or a PATCH), `timed_out` from the reaper once `expiresAt`
(createdAt + ttlMs) has passed; without ttlMs a command never expires unless
`AGENT_RELAY_COMMAND_DEFAULT_TTL_MS` gives a default.

Final transitions — a PATCH to a final status, a cancel, a ttl expiry — all pass through
`CommandStore._finished`, which awaits every callback in `CommandStore.on_final` with the command
as it now is. Code that must react to a command finishing (recipe progression) registers there,
once per process, in `Relay.__init__` (relay_model/relay.py): `self.commands.on_final.append(self.recipes.on_command)`.
A callback that raises is logged; the transition itself is already committed. (A process that dies
between the script and its callbacks skips them; the `command.<status>` event is in the `cmd`
stream either way, for consumers that must never miss one.)

Keys: one hash per command (`keys.command`) holding the static doc, the current JSON and the
fields scripts test; zsets scored by createdAt index it by target, status, type and (status,
target) — a target's pending queue is `keys.commands_queue("pending", target)`, so polling it
never touches other targets' commands. Final commands are purged after
`AGENT_RELAY_COMMAND_RETENTION_S` by the reaper (steps in `relay_model.commands.reaper`).
"""

from __future__ import annotations

import builtins
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Final, Literal

import msgspec
from msgspec import Meta
from redis.asyncio import Redis

from relay_model import keys
from relay_model.base import Input, Model
from relay_model.clock import now_ms
from relay_model.connection import log_failure
from relay_model.errors import Invalid
from relay_model.scripts import Scripts
from relay_model.validation import JsonObject, check_json_size, clean_positive_int, required_text

log = logging.getLogger("relay.commands")

COMMAND_STATUSES: Final = (
    "pending",
    "accepted",
    "running",
    "succeeded",
    "failed",
    "timed_out",
    "rejected",
    "canceled",
)
FINAL_STATUSES: Final = frozenset({"succeeded", "failed", "timed_out", "rejected", "canceled"})
CommandStatus = Literal["pending", "accepted", "running", "succeeded", "failed", "timed_out", "rejected", "canceled"]

# Listings examine at most this many index entries, so a rare filter combination stays cheap.
LIST_SCAN_BUDGET: Final = 5000
# Reaper batch: due commands handled per pass (the rest wait for the next pass).
REAP_BATCH: Final = 500
# A pass handles at most this many batches; anything left is due in the next pass.
MAX_BATCHES: Final = 20
MAX_ERROR_CHARS: Final = 4000


class Command(Model):
    id: str
    type: str
    source: str
    target: str
    params: JsonObject = msgspec.field(default_factory=dict)
    correlation_id: str | None = None
    ttl_ms: int | None = None
    created_at: int = 0
    expires_at: int | None = None
    status: CommandStatus = "pending"
    result: JsonObject | None = None
    error: str | None = None
    updated_at: int = 0
    accepted_at: int | None = None
    started_at: int | None = None
    finished_at: int | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


class CreateCommandInput(Input):
    """`POST /api/commands`. `params` must be a JSON object of at most 65,536 encoded characters."""

    type: Annotated[str, Meta(max_length=120)]
    source: Annotated[str, Meta(max_length=240)]
    target: Annotated[str, Meta(max_length=240)]
    params: Annotated[Any, Meta(description="JSON object (at most 65,536 characters encoded)")] = None
    correlation_id: Annotated[str, Meta(max_length=240)] | None = None
    # Absent means no ttl; anything else, null included, must be a positive integer (the seed).
    ttl_ms: Annotated[Any, Meta(description="positive integer (ms)")] = msgspec.UNSET


class UpdateCommandInput(Input):
    """`PATCH /api/commands/:id`: a status change and/or the outcome so far."""

    status: CommandStatus | None = None
    result: Annotated[Any, Meta(description="JSON object (at most 65,536 characters encoded)")] = None
    error: Annotated[str, Meta(max_length=MAX_ERROR_CHARS)] | None = None


class _Doc(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=False):
    """The part of a command that never changes; scripts append the rest."""

    id: str
    type: str
    source: str
    target: str
    params: JsonObject
    correlation_id: str | None
    ttl_ms: int | None
    created_at: int
    expires_at: int | None


FinalHook = Callable[[Command], Awaitable[None]]

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Command).decode
_decode_list = msgspec.json.Decoder(list[Command]).decode


def decode_command(raw: str | bytes) -> Command:
    return _decode(raw)


def clean_object(value: Any, field: str) -> dict[str, Any] | None:
    """The seed's `cleanParams`: absent/null is None; anything but an object, or a too large one, is refused."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Invalid(f"{field} must be an object")
    check_json_size(value, field)
    return value


def new_command_id(now: int) -> str:
    """`cmd_` + creation ms (hex, fixed width) + random: unique and sortable by creation time."""
    return f"cmd_{now:012x}{secrets.token_hex(5)}"


class CommandStore:
    def __init__(self, redis: Redis, scripts: Scripts, *, event_maxlen: int, default_ttl_ms: int = 0) -> None:
        self.redis = redis
        self.scripts = scripts
        self.maxlen = event_maxlen
        self.default_ttl_ms = default_ttl_ms
        # Awaited after every final transition (PATCH to a final status, cancel, ttl expiry).
        self.on_final: list[FinalHook] = []

    async def create(
        self,
        *,
        type: str,
        source: str,
        target: str,
        params: dict[str, Any] | None = None,
        correlation_id: str | None = None,
        ttl_ms: int | None = None,
        command_id: str | None = None,
    ) -> Command:
        """Store a pending command and emit `command.requested`, in one round trip.

        `command_id` makes the call idempotent: when a command with that id exists, it is returned
        as it is and nothing is written or emitted (a retried creation yields the same command).
        """
        check_json_size(params, "params")
        now = now_ms()
        ttl = ttl_ms if ttl_ms is not None else (self.default_ttl_ms or None)
        doc = _Doc(
            id=command_id or new_command_id(now),
            type=type,
            source=source,
            target=target,
            params=params or {},
            correlation_id=correlation_id,
            ttl_ms=ttl,
            created_at=now,
            expires_at=now + ttl if ttl else None,
        )
        doc_json = _encode(doc)
        full = (
            doc_json[:-1]
            + b',"status":"pending","result":null,"error":null,"updatedAt":'
            + str(now).encode()
            + b',"acceptedAt":null,"startedAt":null,"finishedAt":null}'
        )
        (raw,) = await self.scripts.run_checked(
            "command_create",
            [keys.command(doc.id), keys.commands_all(), keys.command_deadlines(), keys.events(keys.CMD)],
            [
                now,
                doc.id,
                doc_json,
                full,
                type,
                source,
                target,
                "" if doc.expires_at is None else doc.expires_at,
                "" if ttl is None else ttl,
                self.maxlen,
                "1" if command_id else "0",
            ],
        )
        return decode_command(raw)

    async def create_from(self, data: CreateCommandInput) -> Command:
        return await self.create(
            type=required_text(data.type, "type"),
            source=required_text(data.source, "source"),
            target=required_text(data.target, "target"),
            params=clean_object(data.params, "params"),
            correlation_id=(data.correlation_id or "").strip() or None,
            ttl_ms=clean_positive_int(data.ttl_ms, "ttlMs"),
        )

    async def get(self, command_id: str) -> Command | None:
        raw: str | None = await self.redis.hget(keys.command(command_id), "json")  # type: ignore[misc]
        return decode_command(raw) if raw else None

    async def list(
        self,
        *,
        target: str | None = None,
        status: str | None = None,
        type: str | None = None,
        since: int | None = None,
        limit: int = 100,
    ) -> list[Command]:
        """With `since`: the oldest commands created at or after it; else the newest. Oldest first."""
        # Read the most selective index; `target` + `status` is exactly one target's queue.
        if target and status:
            index = keys.commands_queue(status, target)
        elif target:
            index = keys.commands_by("target", target)
        elif status:
            index = keys.commands_by("status", status)
        elif type:
            index = keys.commands_by("type", type)
        else:
            index = keys.commands_all()
        raws = await self.scripts.run(
            "commands_list",
            [index],
            [
                "" if since is None else since,
                limit,
                type or "",
                status or "",
                target or "",
                LIST_SCAN_BUDGET,
            ],
        )
        return _decode_list(b"[" + b",".join(r.encode() if isinstance(r, str) else r for r in raws) + b"]")

    async def _transition(
        self,
        command_id: str,
        mode: str,
        *,
        status: str = "",
        result: dict[str, Any] | None = None,
        error: str | None = None,
        now: int | None = None,
    ) -> Command | None:
        reply = await self.scripts.run_checked(
            "command_update",
            [keys.command(command_id), keys.command_deadlines(), keys.commands_finished(), keys.events(keys.CMD)],
            [
                now if now is not None else now_ms(),
                command_id,
                mode,
                status,
                _encode(result) if result is not None else "",
                "1" if error is not None else "0",
                error or "",
                self.maxlen,
            ],
        )
        if not int(reply[0]):
            return None
        command = decode_command(reply[2])
        if int(reply[1]):
            await self._finished(command)
        return command

    async def update(
        self,
        command_id: str,
        *,
        status: str | None = None,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> Command:
        """A PATCH: 404 unknown, 409 final or an illegal transition."""
        command = await self._transition(command_id, "patch", status=status or "", result=result, error=error)
        assert command is not None  # a patch either changes the command or raises
        return command

    async def update_from(self, command_id: str, data: UpdateCommandInput) -> Command:
        return await self.update(
            command_id, status=data.status, result=clean_object(data.result, "result"), error=data.error
        )

    async def cancel(self, command_id: str) -> Command:
        """DELETE: 404 "command not found or cannot be canceled" when unknown or already final."""
        command = await self._transition(command_id, "cancel")
        assert command is not None
        return command

    async def expire_due(self, now: int, *, batch: int = REAP_BATCH) -> builtins.list[Command]:
        """Time out the commands whose ttl has passed; reads only the due part of the deadline zset.

        Every id examined leaves the due range (timed out, or dropped when already final/gone), so
        reading batch after batch until one comes back short ends.
        """
        expired: builtins.list[Command] = []
        for _ in range(MAX_BATCHES):
            due = await self.redis.zrangebyscore(keys.command_deadlines(), "-inf", now, start=0, num=batch)
            for command_id in due:
                command = await self._transition(command_id, "expire", now=now)
                if command is not None:
                    expired.append(command)
            if len(due) < batch:
                break
        return expired

    async def purge_finished(self, cutoff: int, *, batch: int = REAP_BATCH) -> int:
        """Delete final commands that finished at or before `cutoff` (the retention window)."""
        purged = 0
        for _ in range(MAX_BATCHES):
            due = await self.redis.zrangebyscore(keys.commands_finished(), "-inf", cutoff, start=0, num=batch)
            for command_id in due:
                purged += int(
                    await self.scripts.run(
                        "command_purge",
                        [keys.command(command_id), keys.commands_all(), keys.commands_finished()],
                        [command_id, cutoff],
                    )
                )
            if len(due) < batch:
                break
        return purged

    async def _finished(self, command: Command) -> None:
        """The one place every final transition passes through after its script committed."""
        for hook in list(self.on_final):
            try:
                await hook(command)
            except Exception as exc:
                log_failure(log, exc, "on_final hook %r failed for command %s", hook, command.id)

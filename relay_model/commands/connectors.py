"""Connectors: bridges (chat, issue trackers, …) that run on an orchestrator's host, and their registry.

A connector record (`sys` group) names the orchestrator that runs it; the relay never runs
connector code itself. `POST /api/connectors/:id/actions {action}` becomes a `connector.<action>`
command for that orchestrator's agent (params: connectorId, action, kind, config). The caller then
waits — bounded by `AGENT_RELAY_CONNECTOR_WAIT_S` (default 10 s) or its own `timeoutMs` if
shorter — for the command's outcome: 200 `{ok: true, …, result}` when it succeeded, 502
`{ok: false, …, error}` when it failed, was rejected, timed out or no outcome arrived in time.
`"wait": false` answers 202 `{ok: true, …, command}` at once. The command's ttl is the wait plus
a margin, so an action nobody picks up ends `timed_out` instead of lingering.

When a connector command finishes (whenever that happens), `on_command_final` — registered in
`CommandStore.on_final` — records the outcome on the connector: `lastAction`, `lastCommandId`,
`lastError`, and `status` from the result's `status` field when the host reports one.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any, Final, Literal

import msgspec
from msgspec import Meta
from redis.asyncio import Redis

from relay_model import keys
from relay_model.agents.orchestrators import agent_id_for
from relay_model.base import Input, Model
from relay_model.clock import now_ms
from relay_model.commands.commands import Command, CommandStore
from relay_model.errors import NotFound
from relay_model.scripts import Scripts
from relay_model.validation import JsonObject, check_json_size

CONNECTOR_ACTIONS: Final = ("install", "uninstall", "enable", "disable", "start", "stop", "restart", "status", "doctor")
ConnectorAction = Literal["install", "uninstall", "enable", "disable", "start", "stop", "restart", "status", "doctor"]
TTL_MARGIN_MS: Final = 30_000


class Connector(Model):
    id: str
    name: str
    kind: str
    orchestrator_id: str
    config: JsonObject = msgspec.field(default_factory=dict)
    enabled: bool = True
    status: str = "unknown"
    last_action: str | None = None
    last_command_id: str | None = None
    last_error: str | None = None
    created_at: int = 0
    updated_at: int = 0


class ConnectorInput(Input):
    """`PUT /api/connectors/:id`: register a connector or replace its description."""

    kind: Annotated[str, Meta(min_length=1, max_length=80)]
    orchestrator_id: Annotated[str, Meta(min_length=1, max_length=120)]
    name: Annotated[str, Meta(max_length=240)] | None = None
    config: JsonObject | None = None
    enabled: bool = True


class ConnectorConfigInput(Input):
    config: JsonObject


class ConnectorActionInput(Input):
    action: ConnectorAction
    wait: bool = True
    timeout_ms: Annotated[int, Meta(ge=1, le=60_000)] | None = None


class ConnectorActionResult(msgspec.Struct, rename="camel", omit_defaults=True):
    ok: bool
    connector_id: str
    action: str
    command: Command
    status: str | None = None
    result: JsonObject | None = None
    error: str | None = None


_encode = msgspec.json.Encoder().encode
_decode_doc = msgspec.json.Decoder(dict[str, Any]).decode


class _Doc(msgspec.Struct, kw_only=True, rename="camel"):
    name: str
    kind: str
    orchestrator_id: str
    enabled: bool


def _from_hash(connector_id: str, h: dict[str, str]) -> Connector:
    doc = _decode_doc(h["doc"])
    return Connector(
        id=connector_id,
        name=doc.get("name") or connector_id,
        kind=doc.get("kind") or "",
        orchestrator_id=doc.get("orchestratorId") or "",
        enabled=bool(doc.get("enabled", True)),
        config=_decode_doc(h["config"]) if h.get("config") else {},
        status=h.get("status") or "unknown",
        last_action=h.get("lastAction") or None,
        last_command_id=h.get("lastCommandId") or None,
        last_error=h.get("lastError") or None,
        created_at=int(h.get("createdAt") or 0),
        updated_at=int(h.get("updatedAt") or 0),
    )


async def wait_for_final(commands: CommandStore, command_id: str, timeout_s: float) -> Command | None:
    """Poll one command until it is final or the deadline passes (bounded, any node can do it)."""
    deadline = time.monotonic() + timeout_s
    delay = 0.05
    while True:
        command = await commands.get(command_id)
        if command is not None and command.final:
            return command
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return command
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.25)


class ConnectorStore:
    def __init__(self, redis: Redis, scripts: Scripts, commands: CommandStore, *, wait_s: float) -> None:
        self.redis = redis
        self.scripts = scripts
        self.commands = commands
        self.wait_s = wait_s

    async def get(self, connector_id: str) -> Connector | None:
        h: dict[str, str] = await self.redis.hgetall(keys.connector(connector_id))  # type: ignore[misc]
        return _from_hash(connector_id, h) if h.get("doc") else None

    async def require(self, connector_id: str) -> Connector:
        connector = await self.get(connector_id)
        if connector is None:
            raise NotFound("connector not found")
        return connector

    async def list(self) -> list[Connector]:
        ids = await self.redis.zrange(keys.connectors_all(), 0, -1)
        pipe = self.redis.pipeline(transaction=False)
        for connector_id in ids:
            pipe.hgetall(keys.connector(connector_id))
        return [_from_hash(i, h) for i, h in zip(ids, await pipe.execute(), strict=True) if h.get("doc")]

    async def put(self, connector_id: str, data: ConnectorInput) -> tuple[Connector, bool]:
        """Register or re-describe a connector; its config is replaced only when the body has one."""
        check_json_size(data.config, "config")
        key = keys.connector(connector_id)
        now = now_ms()
        doc = _Doc(
            name=(data.name or "").strip() or connector_id,
            kind=data.kind,
            orchestrator_id=data.orchestrator_id,
            enabled=data.enabled,
        )
        has_config = data.config is not None
        created = await self.scripts.run(
            "connector_put",
            [key, keys.connectors_all()],
            [connector_id, now, _encode(doc), "1" if has_config else "0", _encode(data.config) if has_config else ""],
        )
        return await self.require(connector_id), bool(created)

    async def _update(self, connector_id: str, fields: dict[str, Any]) -> bool:
        args: list[Any] = []
        for field, value in fields.items():
            args += [field, value]
        return bool(await self.scripts.run("connector_update", [keys.connector(connector_id)], args))

    async def write_config(self, connector_id: str, config: dict[str, Any]) -> Connector:
        """The seed's `writeConnectorConfig`: replace the config of an existing connector."""
        check_json_size(config, "config")
        if not await self._update(connector_id, {"config": _encode(config), "updatedAt": now_ms()}):
            raise NotFound("connector not found")
        return await self.require(connector_id)

    async def delete(self, connector_id: str) -> bool:
        deleted = await self.scripts.run(
            "connector_delete", [keys.connector(connector_id), keys.connectors_all()], [connector_id]
        )
        return bool(deleted)

    async def run_action(self, connector_id: str, data: ConnectorActionInput) -> tuple[int, ConnectorActionResult]:
        connector = await self.require(connector_id)
        wait_s = min(self.wait_s, data.timeout_ms / 1000) if data.timeout_ms else self.wait_s
        command = await self.commands.create(
            type=f"connector.{data.action}",
            source="system",
            target=agent_id_for(connector.orchestrator_id),
            params={
                "connectorId": connector.id,
                "action": data.action,
                "kind": connector.kind,
                "config": connector.config,
                "requestedBy": "dashboard",
                "requestedAt": now_ms(),
            },
            ttl_ms=int(wait_s * 1000) + TTL_MARGIN_MS,
        )
        if not data.wait:
            return 202, ConnectorActionResult(ok=True, connector_id=connector.id, action=data.action, command=command)
        final = await wait_for_final(self.commands, command.id, wait_s)
        command = final or command
        if command.status == "succeeded":
            result = command.result or {}
            status = result.get("status") if isinstance(result.get("status"), str) else None
            return 200, ConnectorActionResult(
                ok=True, connector_id=connector.id, action=data.action, command=command, status=status, result=result
            )
        if command.final:
            error = command.error or f"connector action {command.status}"
        else:
            error = f"no outcome from orchestrator {connector.orchestrator_id} within {wait_s:g}s"
        return 502, ConnectorActionResult(
            ok=False, connector_id=connector.id, action=data.action, command=command, result=command.result, error=error
        )

    async def on_command_final(self, command: Command) -> None:
        """Record a connector command's outcome on the connector (an `on_final` hook)."""
        if not command.type.startswith("connector."):
            return
        connector_id = command.params.get("connectorId")
        if not isinstance(connector_id, str):
            return
        result = command.result or {}
        reported = result.get("status")
        fields: dict[str, Any] = {
            "lastAction": str(command.params.get("action") or command.type.split(".", 1)[1]),
            "lastCommandId": command.id,
            "lastError": "" if command.status == "succeeded" else (command.error or command.status),
            "updatedAt": now_ms(),
        }
        if isinstance(reported, str) and reported:
            fields["status"] = reported[:80]
        await self._update(connector_id, fields)

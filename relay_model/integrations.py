"""Integrations: operator-configured tokens for external systems (alerting, CI, chat bridges).

Configured once per process from `AGENT_RELAY_INTEGRATIONS` (a JSON array) or
`AGENT_RELAY_INTEGRATIONS_FILE` (the same as YAML or JSON), so every node reads the same list:

    - name: pagerduty              # [A-Za-z0-9._-], unique; becomes the task `source`
      token: "…"                   # the integration's bearer token (at least 16 characters)
      scopes: [tasks:write]        # empty = every integration scope
      targets: [backend, "channel:alerts"]   # allowed `target` values; empty = any
      channels: [alerts]           # allowed channels; empty = any
      callbackUrl: https://…       # optional: task changes are POSTed here
      secret: "…"                  # optional HMAC key for callbacks (defaults to the token)

The matching rules are the seed's: `hasIntegrationScope`, `isIntegrationAllowed` and the
`dispatchTaskCallbacks` filters.
"""

from __future__ import annotations

import hmac
import json
import os
import re
from pathlib import Path
from typing import Annotated, Any

import msgspec
import yaml
from msgspec import Meta
from redis.asyncio import Redis

from . import keys
from .base import Input, Model
from .outbound import check_url
from .tasks import TaskBody, TaskSeverity, Title, TypeName
from .validation import Id, JsonObject

NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,80}$")
MIN_TOKEN_CHARS = 16
EVENT_SCOPE = "tasks:write"


class Integration(msgspec.Struct, kw_only=True, rename="camel", frozen=True):
    name: str
    token: str
    scopes: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    callback_url: str | None = None
    secret: str | None = None

    @property
    def signing_key(self) -> bytes:
        return (self.secret or self.token).encode()

    def has_scope(self, scope: str) -> bool:
        """The seed's hasIntegrationScope: no scopes configured means every scope."""
        return not self.scopes or scope in self.scopes or "*" in self.scopes

    def allows(self, *, target: str, channel: str | None) -> bool:
        """The seed's isIntegrationAllowed."""
        if self.targets and target not in self.targets:
            return False
        return not (self.channels and channel and channel not in self.channels)


class IntegrationSummary(Model):
    """What `GET /api/integrations` shows: never the token or the secret."""

    name: str
    scopes: list[str]
    targets: list[str]
    channels: list[str]
    callback_url: str | None = None
    signed: bool = False


class IntegrationEventInput(Input):
    """The body of `POST /api/integrations/events` (part of the contract)."""

    target: Id
    title: Title
    channel: Id | None = None
    type: TypeName | None = None
    body: TaskBody = ""
    severity: TaskSeverity = "info"
    external_id: Annotated[str, Meta(min_length=1, max_length=240)] | None = None
    metadata: JsonObject | None = None


def summary(integration: Integration) -> IntegrationSummary:
    return IntegrationSummary(
        name=integration.name,
        scopes=list(integration.scopes),
        targets=list(integration.targets),
        channels=list(integration.channels),
        callback_url=integration.callback_url,
        signed=integration.callback_url is not None,
    )


def parse_integrations(raw: Any, origin: str) -> tuple[Integration, ...]:
    """Validate a decoded list of integration objects; errors name the origin and the entry."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValueError(f"{origin}: expected a list of integrations")
    out: list[Integration] = []
    names: set[str] = set()
    tokens: set[str] = set()
    for i, item in enumerate(raw):
        where = f"{origin}: integration #{i + 1}"
        try:
            integ = msgspec.convert(item, Integration)
        except msgspec.ValidationError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if not NAME_RE.match(integ.name):
            raise ValueError(f"{where}: name must be 1-80 characters of A-Z a-z 0-9 . _ -")
        if len(integ.token) < MIN_TOKEN_CHARS:
            raise ValueError(f"{where} ({integ.name}): token must be at least {MIN_TOKEN_CHARS} characters")
        if integ.callback_url is not None:
            try:
                check_url(integ.callback_url)
            except Exception as exc:
                raise ValueError(f"{where} ({integ.name}): callbackUrl: {exc}") from None
        if integ.name in names:
            raise ValueError(f"{where}: duplicate name {integ.name}")
        if integ.token in tokens:
            raise ValueError(f"{where} ({integ.name}): token is used by another integration")
        names.add(integ.name)
        tokens.add(integ.token)
        out.append(integ)
    return tuple(out)


def load_integrations() -> tuple[Integration, ...]:
    inline = os.environ.get("AGENT_RELAY_INTEGRATIONS", "").strip()
    path = os.environ.get("AGENT_RELAY_INTEGRATIONS_FILE", "").strip()
    if inline and path:
        raise ValueError("set AGENT_RELAY_INTEGRATIONS or AGENT_RELAY_INTEGRATIONS_FILE, not both")
    if inline:
        try:
            return parse_integrations(json.loads(inline), "AGENT_RELAY_INTEGRATIONS")
        except json.JSONDecodeError as exc:
            raise ValueError(f"AGENT_RELAY_INTEGRATIONS is not valid JSON: {exc}") from None
    if path:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ValueError(f"AGENT_RELAY_INTEGRATIONS_FILE {path}: {exc}") from None
        try:
            data = yaml.safe_load(text)  # YAML is a superset of JSON: both formats load here
        except yaml.YAMLError as exc:
            raise ValueError(f"AGENT_RELAY_INTEGRATIONS_FILE {path}: {exc}") from None
        if isinstance(data, dict) and "integrations" in data:
            data = data["integrations"]
        return parse_integrations(data, path)
    return ()


def find_by_token(integrations: tuple[Integration, ...], token: str) -> Integration | None:
    """Constant-time compare against every configured token."""
    found: Integration | None = None
    for integ in integrations:
        if hmac.compare_digest(integ.token.encode(), token.encode()):
            found = integ
    return found


def callback_filters(integrations: tuple[Integration, ...]) -> str:
    """The JSON the task scripts read to queue callbacks: name -> {targets, channels}."""
    cfg = {i.name: {"targets": list(i.targets), "channels": list(i.channels)} for i in integrations if i.callback_url}
    return json.dumps(cfg, separators=(",", ":")) if cfg else ""


async def count_request(redis: Redis, name: str, now_ms: int) -> tuple[int, int]:
    """Count one request in the integration's current clock minute, across every node.

    Returns (requests so far this minute, seconds until the minute ends).
    """
    minute = now_ms // 60_000
    key = keys.integration_rate(name, minute)
    pipe = redis.pipeline(transaction=True)
    pipe.incr(key)
    pipe.expire(key, 120)
    count, _ = await pipe.execute()
    retry_after = max(1, -(-((minute + 1) * 60_000 - now_ms) // 1000))
    return int(count), retry_after

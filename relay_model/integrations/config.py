"""The configured integrations as the API uses them: who a bearer token is, what it may post, where
its task changes go, and how fast it may call.

The integrations themselves are settings (`relay_model.settings.Integration`, read from
`AGENT_RELAY_INTEGRATIONS` / `AGENT_RELAY_INTEGRATIONS_FILE`); the matching rules are the seed's:
`hasIntegrationScope`, `isIntegrationAllowed` (on `Integration`) and the `dispatchTaskCallbacks`
filters (`callback_filters`).
"""

from __future__ import annotations

import hmac
import json
from typing import Annotated

from msgspec import Meta
from redis.asyncio import Redis

from relay_model import keys
from relay_model.base import Input, Model
from relay_model.settings import Integration
from relay_model.tasks.tasks import TaskBody, TaskSeverity, Title, TypeName
from relay_model.validation import Id, JsonObject

EVENT_SCOPE = "tasks:write"


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
    # The counter is created with its expiry, then counted (INCR keeps the expiry): one round trip,
    # safe without MULTI (which a cluster client cannot run), and no counter is ever left without a ttl.
    pipe = redis.pipeline(transaction=False)
    pipe.set(key, 0, ex=120, nx=True)
    pipe.incr(key)
    _, count = await pipe.execute()
    retry_after = max(1, -(-((minute + 1) * 60_000 - now_ms) // 1000))
    return int(count), retry_after

"""Integrations: the configured list (no secrets), events that create or update tasks, and the
record of callback deliveries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromQuery, JSONBody, QueryParameter

from relay_api.auth import Authenticator, Principal, Resolver, principal_of
from relay_api.deps import RelayDep
from relay_api.scopes import check_requested, matches, role_scopes, verbs_of
from relay_model.clock import now_ms
from relay_model.errors import Forbidden, RateLimited, Unauthorized
from relay_model.flows.integration_events import channel_id_from_target, ingest, resolve_event_target
from relay_model.integrations.callbacks import Delivery
from relay_model.integrations.config import (
    EVENT_SCOPE,
    IntegrationEventInput,
    IntegrationSummary,
    count_request,
    find_by_token,
    summary,
)
from relay_model.messages.messages import Message
from relay_model.settings import Integration, Settings
from relay_model.tasks.tasks import Task

INTEGRATION_ROLE = "integration"
# Every integration token may post events; its configured scopes add what else it may do.
INTEGRATION_BASE_SCOPES = frozenset({"integrations:write"})


def integration_resolver(
    integrations: tuple[Integration, ...], count: Callable[[str], Awaitable[None]] | None = None
) -> Resolver:
    """Configured integration tokens; `count(name)` counts each request against its rate limit (429 over it)."""

    async def resolve(token: str) -> Principal | None:
        integ = find_by_token(integrations, token)
        if integ is None:
            return None
        if count is not None:
            await count(integ.name)
        # "*" in an integration's scopes means every integration scope (has_scope), never admin access.
        api_scopes = {s for s in integ.scopes if s != "*"}
        return Principal(role=INTEGRATION_ROLE, sub=integ.name, scopes=INTEGRATION_BASE_SCOPES | api_scopes)

    return resolve


def integration_scope_problem(integrations: tuple[Integration, ...]) -> str | None:
    """Why a configured integration's scopes grant more than the integration role may hold (the
    README's roles table: no mail, no tokens, no operator areas), or None. A scope outside the role
    would be granted as is, so `tokens:admin` would let the integration mint an admin token."""
    granted = role_scopes(INTEGRATION_ROLE)
    for integ in integrations:
        requested = [s for s in integ.scopes if s != "*"]
        problem = check_requested(INTEGRATION_ROLE, requested)
        if problem:
            return f"integration {integ.name}: {problem}"
        for item in requested:
            # `area:*` passes check_requested (a token's claim only narrows), but here it is granted.
            area, _, verb = item.partition(":")
            if verb == "*" and not all(matches(granted, f"{area}:{v}") for v in verbs_of(area)):
                return f"integration {integ.name}: scope {item} is not granted to role integration"
    return None


def install_integration_auth(
    authenticator: Authenticator, settings: Settings, count: Callable[[str], Awaitable[None]]
) -> None:
    problem = integration_scope_problem(settings.integrations)
    if problem:
        raise ValueError(problem)
    if settings.integrations:
        authenticator.add_resolver(integration_resolver(settings.integrations, count))


class IntegrationEventResult(msgspec.Struct, rename="camel"):
    ok: bool
    created: bool
    task: Task
    message: Message | None = None


class IntegrationController(Controller):
    path = "/integrations"
    tags = ["integrations"]

    @get("/", name="integrations:list", opt={"scope": "integrations:read"})
    async def list_integrations(self, relay: RelayDep) -> list[IntegrationSummary]:
        """The configured integrations; tokens and secrets are never shown."""
        return [summary(i) for i in relay.settings.integrations]

    @post("/events", name="integrations:event", opt={"scope": "integrations:write"}, status_code=201)
    async def event(
        self, request: Request[Any, Any, Any], relay: RelayDep, data: JSONBody[IntegrationEventInput]
    ) -> Response[IntegrationEventResult]:
        """Create a task (201), or update this integration's task with the same `externalId` (200).
        Needs an integration token; a `channel:<id>` target resolves through the channel's one binding."""
        principal = principal_of(request)
        integ = next((i for i in relay.settings.integrations if i.name == principal.sub), None)
        if principal.role != INTEGRATION_ROLE or integ is None:
            raise Unauthorized("integration token required")
        count, retry_after = await count_request(relay.redis, integ.name, now_ms())
        if count > relay.settings.integration_rate_limit_per_minute:
            raise RateLimited("integration rate limit exceeded", retry_after_s=retry_after)
        if not integ.has_scope(EVENT_SCOPE):
            raise Forbidden(f"integration token lacks scope {EVENT_SCOPE}")
        requested_channel = channel_id_from_target(data.target)
        if not integ.allows(target=data.target, channel=data.channel or requested_channel):
            raise Forbidden("integration token cannot target this task")
        resolved = await resolve_event_target(relay, data)
        task, created, message = await ingest(relay, integ.name, resolved)
        return Response(
            IntegrationEventResult(ok=True, created=created, task=task, message=message),
            status_code=201 if created else 200,
        )

    @get("/deliveries", name="integrations:deliveries", opt={"scope": "integrations:read"})
    async def deliveries(
        self,
        relay: RelayDep,
        integration: Annotated[str | None, QueryParameter(max_length=80)] = None,
        status: FromQuery[Literal["pending", "delivered", "failed"] | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[Delivery]:
        """Callback deliveries newest first, each with every attempt made."""
        return await relay.callbacks.list(integration=integration, status=status, limit=limit)

"""Provider configs (claude, codex): read, replace, and test where the command can be found."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from relay_api.deps import PrincipalDep, RelayDep
from relay_model.agents import providers
from relay_model.agents.orchestrators import agent_id_for, first_online
from relay_model.agents.providers import ProviderConfig, ProviderTestResult
from relay_model.auth.roles import ORCHESTRATOR
from relay_model.commands.connectors import wait_for_final
from relay_model.errors import Forbidden, Invalid, NotFound, Unprocessable

TEST_COMMAND_TTL_MS = 60_000


class ProviderTestInput(msgspec.Struct, kw_only=True, rename="camel"):
    orchestrator_id: str | None = None
    via: str | None = None


class ProviderController(Controller):
    path = "/providers"
    tags = ["providers"]

    @get("/config", name="providers:list", opt={"scope": "providers:read"})
    async def all_configs(self, relay: RelayDep) -> dict[str, ProviderConfig]:
        """Every provider's config (env values redacted)."""
        return {p: providers.public(c) for p, c in (await relay.providers.load_all()).items()}

    @get("/{provider:str}/config", name="providers:get", opt={"scope": "providers:read"})
    async def get_config(
        self,
        relay: RelayDep,
        principal: PrincipalDep,
        provider: FromPath[str],
        reveal: Annotated[
            str | None, QueryParameter(description="`env`: show env values (orchestrator and admin tokens only)")
        ] = None,
    ) -> ProviderConfig:
        """The config, env values redacted. `?reveal=env` shows them to the ones that launch providers:
        orchestrator tokens and the operator-only `providers:admin` scope (403 for everyone else)."""
        config = await relay.providers.load(providers.check_provider_name(provider))
        if reveal is None:
            return providers.public(config)
        if reveal != "env":
            raise Invalid("reveal must be env")
        if principal.role != ORCHESTRATOR and not principal.has("providers:admin"):
            raise Forbidden("only orchestrator tokens and providers:admin may read provider env values")
        return config

    @put(
        "/{provider:str}/config",
        name="providers:put",
        opt={"scope": "providers:admin", "body_error": "provider config body must be an object"},
    )
    async def put_config(self, relay: RelayDep, provider: FromPath[str], data: JSONBody[Any]) -> ProviderConfig:
        """Replace a provider's config (command required; absent fields take the defaults)."""
        name = providers.check_provider_name(provider)
        return providers.public(await relay.providers.write(name, data))

    @post("/{provider:str}/config/test", name="providers:test", opt={"scope": "providers:write"}, status_code=200)
    async def test_config(
        self, relay: RelayDep, provider: FromPath[str], data: JSONBody[Any] = None
    ) -> Response[ProviderTestResult]:
        """Check the configured command on this API node, or on an orchestrator when the body asks (see README)."""
        name = providers.check_provider_name(provider)
        config = await relay.providers.load(name)
        body = data if isinstance(data, dict) else {}
        orchestrator_id = body.get("orchestratorId")
        if orchestrator_id is None and body.get("via") != "orchestrator":
            result = providers.check_on_this_node(config)
        else:
            result = await _test_on_orchestrator(relay, name, config, orchestrator_id)
        return Response(result, status_code=200 if result.ok else 422)


async def _test_on_orchestrator(
    relay: RelayDep, provider: str, config: ProviderConfig, orchestrator_id: Any
) -> ProviderTestResult:
    if orchestrator_id is not None and not isinstance(orchestrator_id, str):
        raise Invalid("orchestratorId must be a string")
    if orchestrator_id:
        orch = await relay.orchestrators.get(orchestrator_id)
        if orch is None:
            raise NotFound("orchestrator not found")
        if orch.status != "online":
            raise Unprocessable("orchestrator is offline")
    else:
        orch = first_online(await relay.orchestrators.list(), provider)
    command = await relay.commands.create(
        type="provider.test",
        source="system",
        target=agent_id_for(orch.id),
        params={"provider": provider, "command": config.command, "requestedBy": "dashboard"},
        ttl_ms=TEST_COMMAND_TTL_MS,
    )
    final = await wait_for_final(relay.commands, command.id, relay.settings.connector_wait_s)
    outcome = (final.result if final else None) or {}
    status = final.status if final else command.status
    path = outcome.get("path") if isinstance(outcome.get("path"), str) else ""
    if status == "succeeded":
        ok = outcome.get("ok", True) is not False
        error = str(outcome.get("error") or "")
    else:
        ok = False
        error = (final.error if final and final.error else None) or (
            f"provider test {status}" if final and final.final else f"no answer from orchestrator {orch.id} in time"
        )
    return ProviderTestResult(
        ok=ok,
        command=config.command,
        path=path or "",
        error=error,
        checked_on="orchestrator",
        node=orch.hostname,
        orchestrator_id=orch.id,
        command_id=command.id,
    )

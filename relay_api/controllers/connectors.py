"""Connectors: the registry (list, read, register, config, delete) and actions run by the host's orchestrator."""

from __future__ import annotations

from litestar import Controller, Response, delete, get, post, put
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody

from relay_api.deps import RelayDep
from relay_api.responses import Ok
from relay_model.commands.connectors import (
    Connector,
    ConnectorActionInput,
    ConnectorActionResult,
    ConnectorConfigInput,
    ConnectorInput,
)
from relay_model.errors import NotFound


class ConnectorController(Controller):
    path = "/connectors"
    tags = ["connectors"]

    @get("/", name="connectors:list", opt={"scope": "connectors:read"})
    async def list_connectors(self, relay: RelayDep) -> list[Connector]:
        return await relay.connectors.list()

    @get("/{connector_id:str}", name="connectors:get", opt={"scope": "connectors:read"})
    async def get_connector(self, relay: RelayDep, connector_id: FromPath[str]) -> Connector:
        return await relay.connectors.require(connector_id)

    @put(
        "/{connector_id:str}",
        name="connectors:put",
        opt={"scope": "connectors:admin"},
        responses={201: ResponseSpec(Connector, description="A new connector was registered", generate_examples=False)},
    )
    async def put_connector(
        self, relay: RelayDep, connector_id: FromPath[str], data: JSONBody[ConnectorInput]
    ) -> Response[Connector]:
        """Register a connector (201) or update its description (200); `orchestratorId` names the host."""
        connector, created = await relay.connectors.put(connector_id, data)
        return Response(connector, status_code=201 if created else 200)

    @put("/{connector_id:str}/config", name="connectors:config", opt={"scope": "connectors:admin"})
    async def put_config(
        self, relay: RelayDep, connector_id: FromPath[str], data: JSONBody[ConnectorConfigInput]
    ) -> Connector:
        return await relay.connectors.write_config(connector_id, data.config)

    @delete("/{connector_id:str}", name="connectors:delete", opt={"scope": "connectors:admin"}, status_code=200)
    async def delete_connector(self, relay: RelayDep, connector_id: FromPath[str]) -> Ok:
        if not await relay.connectors.delete(connector_id):
            raise NotFound("connector not found")
        return Ok()

    @post("/{connector_id:str}/actions", name="connectors:actions", opt={"scope": "connectors:write"}, status_code=200)
    async def action(
        self, relay: RelayDep, connector_id: FromPath[str], data: JSONBody[ConnectorActionInput]
    ) -> Response[ConnectorActionResult]:
        """`connector.<action>` command to the connector's host; 200/502 by its outcome, 202 with `wait: false`."""
        status, result = await relay.connectors.run_action(connector_id, data)
        return Response(result, status_code=status)

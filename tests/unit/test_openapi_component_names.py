"""The OpenAPI document names each component after its type alone. Two structs with one class name make
Litestar fall back to the module path (`relay_model_orchestrators_HeartbeatInput`), so moving a module
changed the document although no route did (the domain-package move did exactly that)."""

from __future__ import annotations

from relay_api.app import create_app
from relay_model.settings import Settings


def test_no_component_name_carries_a_module_path() -> None:
    schemas = create_app(Settings(admin_token="x" * 32)).openapi_schema.to_schema()["components"]["schemas"]
    assert [name for name in schemas if name.startswith(("relay_model_", "relay_api_", "relay_worker_"))] == []
    assert {"OrchestratorHeartbeatInput", "AgentHeartbeatInput"} <= set(schemas)

"""A configured integration's scopes may only add what the integration role holds (the README's roles
table): `tokens:admin`, `messages:read` or `system:admin` in `AGENT_RELAY_INTEGRATIONS` are refused at
start-up, since they would be granted as is (an integration minting an admin token, reading mail)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from litestar.testing import AsyncTestClient

from relay_api.app import create_app
from relay_model.settings import Integration, Settings
from tests.conftest import ADMIN_TOKEN
from tests.procs import ROOT, relay_env

TOKEN = "integration-token-0123456789"


@pytest.mark.parametrize("scope", ["tokens:admin", "messages:read", "system:admin", "agents:*"])
def test_relay_serve_refuses_an_integration_scope_outside_the_role(redis_url: str, scope: str) -> None:
    integrations = [{"name": "wide", "token": TOKEN, "scopes": ["tasks:write", scope]}]
    env = relay_env(redis_url, ADMIN_TOKEN, AGENT_RELAY_INTEGRATIONS=json.dumps(integrations))
    done = subprocess.run(
        [sys.executable, "-m", "relay_api.cli", "serve", "--port", "1"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert f"invalid configuration: integration wide: scope {scope} is not granted to role integration" in done.stderr


async def test_the_app_refuses_it_too(redis_url: str) -> None:
    wide = Integration(name="wide", token=TOKEN, scopes=("tokens:admin",))
    settings = Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN, integrations=(wide,))
    refused: list[str] = []
    try:
        async with AsyncTestClient(create_app(settings)):
            pass
    except* ValueError as group:
        refused = [str(e) for e in group.exceptions]
    assert refused == ["integration wide: scope tokens:admin is not granted to role integration"]


async def test_scopes_within_the_role_still_serve(redis_url: str) -> None:
    within = Integration(
        name="ok", token=TOKEN, scopes=("*", "tasks:write", "tasks:read", "events:read", "agents:read")
    )
    settings = Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN, integrations=(within,))
    async with AsyncTestClient(create_app(settings)) as client:
        who = await client.get("/api/whoami", headers={"Authorization": f"Bearer {TOKEN}"})
        assert who.status_code == 200
        assert who.json()["role"] == "integration"
        refused = await client.post("/api/tokens", json={"role": "admin"}, headers={"Authorization": f"Bearer {TOKEN}"})
        assert refused.status_code == 403

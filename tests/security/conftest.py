"""Fixtures for the security tests: an API node that can sign tokens, and a helper to mint them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from relay_model.settings import Settings
from tests.conftest import ADMIN_TOKEN, AUTH

TOKEN_SECRET = "test-token-secret-0123456789abcdefghijklmnop"
PREVIOUS_SECRET = "previous-token-secret-0123456789abcdefghijkl"

Mint = Callable[..., Awaitable[str]]


@pytest.fixture
def settings(redis_url: str) -> Settings:
    return Settings(redis_url=redis_url, admin_token=ADMIN_TOKEN, token_secret=TOKEN_SECRET)


@pytest.fixture
def mint(client: AsyncTestClient) -> Mint:  # type: ignore[type-arg]
    """`await mint(role, sub=..., scope=[...])` -> the token's secret, issued by the admin."""

    async def _mint(role: str, **body: Any) -> str:
        r = await client.post("/api/tokens", json={"role": role, **body}, headers=AUTH)
        assert r.status_code == 201, r.text
        return str(r.json()["token"])

    return _mint


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}

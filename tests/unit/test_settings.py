"""Settings: every default is the field's default, whether the environment is read or not."""

from __future__ import annotations

import os

import pytest

from relay_model.auth.roles import ROLES
from relay_model.settings import DEFAULT_RATE_PER_MINUTE, Settings


def test_an_empty_environment_gives_the_field_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name == "REDIS_URL" or name.startswith("AGENT_RELAY_"):
            monkeypatch.delenv(name)
    assert Settings.from_env() == Settings()


def test_every_role_has_a_default_rate_limit() -> None:
    assert tuple(DEFAULT_RATE_PER_MINUTE) == ROLES
    assert Settings().rate_limits == DEFAULT_RATE_PER_MINUTE


def test_a_variable_overrides_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_RELAY_STALE_AFTER_S", "7.5")
    monkeypatch.setenv("AGENT_RELAY_RATE_LIMIT_AGENT_PER_MINUTE", "0")
    settings = Settings.from_env()
    assert settings.stale_after_s == 7.5
    assert settings.rate_limits["agent"] == 0 and settings.rate_limits["viewer"] == DEFAULT_RATE_PER_MINUTE["viewer"]

"""Integration configuration: env JSON, YAML/JSON file, validation errors, the seed's matching rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from relay_model.integrations.config import callback_filters, find_by_token
from relay_model.settings import Integration, load_integrations

ONE = {"name": "alerts", "token": "alerts-token-0123456789", "targets": ["backend"], "callbackUrl": "https://x.test/h"}


def test_from_env_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_RELAY_INTEGRATIONS", json.dumps([ONE]))
    monkeypatch.delenv("AGENT_RELAY_INTEGRATIONS_FILE", raising=False)
    (integ,) = load_integrations()
    assert (integ.name, integ.targets, integ.callback_url) == ("alerts", ("backend",), "https://x.test/h")
    assert integ.signing_key == b"alerts-token-0123456789"


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_from_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str) -> None:
    path = tmp_path / f"integrations.{suffix}"
    if suffix == "yaml":
        path.write_text(
            "integrations:\n  - name: ci\n    token: ci-token-0123456789abc\n    scopes: [tasks:write]\n    secret: s\n"
        )
    else:
        path.write_text(json.dumps([{"name": "ci", "token": "ci-token-0123456789abc", "secret": "s"}]))
    monkeypatch.delenv("AGENT_RELAY_INTEGRATIONS", raising=False)
    monkeypatch.setenv("AGENT_RELAY_INTEGRATIONS_FILE", str(path))
    (integ,) = load_integrations()
    assert integ.name == "ci" and integ.signing_key == b"s"


@pytest.mark.parametrize(
    ("entries", "text"),
    [
        ({"name": "x"}, "Object missing required field `token`"),
        ([{"name": "bad name", "token": "t" * 20}], "name must be"),
        ([{"name": "a", "token": "short"}], "token must be at least 16 characters"),
        ([{"name": "a", "token": "t" * 20, "callbackUrl": "ftp://x"}], "only http and https URLs are allowed"),
        ([{"name": "a", "token": "t" * 20}, {"name": "a", "token": "u" * 20}], "duplicate name a"),
        ([{"name": "a", "token": "t" * 20}, {"name": "b", "token": "t" * 20}], "token is used by another"),
    ],
)
def test_invalid_config_is_refused_at_start(monkeypatch: pytest.MonkeyPatch, entries: object, text: str) -> None:
    raw = entries if isinstance(entries, list) else [entries]
    monkeypatch.setenv("AGENT_RELAY_INTEGRATIONS", json.dumps(raw))
    with pytest.raises(ValueError, match=text.replace("`", ".").replace("(", ".").replace(")", ".")):
        load_integrations()


def test_seed_matching_rules() -> None:
    open_ = Integration(name="o", token="o" * 20)
    narrow = Integration(name="n", token="n" * 20, scopes=("tasks:read",), targets=("a",), channels=("c",))
    assert open_.has_scope("tasks:write") and open_.allows(target="anything", channel="any")
    assert not narrow.has_scope("tasks:write")
    assert narrow.allows(target="a", channel=None) and narrow.allows(target="a", channel="c")
    assert not narrow.allows(target="b", channel=None) and not narrow.allows(target="a", channel="d")
    assert find_by_token((open_, narrow), "n" * 20) is narrow and find_by_token((open_,), "x" * 20) is None
    hooked = Integration(name="h", token="h" * 20, targets=("a",), callback_url="http://x.test/")
    assert json.loads(callback_filters((open_, hooked))) == {"h": {"targets": ["a"], "channels": []}}
    assert callback_filters((open_,)) == ""

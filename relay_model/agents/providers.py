"""Provider configs (claude, codex): how orchestrators launch each provider, stored once for every node.

A config lives in the `sys` group (`keys.provider_config`); until one is written the defaults
below are served. Reads never show `env` values (they tend to hold secrets): each value is
replaced by REDACTED, and a PUT that sends REDACTED back for a key keeps the stored value.

The test route (`POST /api/providers/:provider/config/test`) cannot assume that API nodes are the
hosts that run providers (usually they are not). It therefore:
- always checks the configured command on *this API node* (`shutil.which`) and says so in the
  answer (`checkedOn: "api-node"`, `node`);
- when the body names an `orchestratorId` (or `"via": "orchestrator"` for the first online one
  offering the provider), sends a `provider.test` command to that orchestrator and waits (bounded)
  for its outcome; the answer is then the orchestrator's (`checkedOn: "orchestrator"`).
200 when the command was found, 422 when not (as the seed).
"""

from __future__ import annotations

import shutil
import socket
from typing import Any, Final, Literal

import msgspec
from redis.asyncio import Redis

from relay_model import keys
from relay_model.base import Model
from relay_model.errors import Conflict, Invalid
from relay_model.scripts import Scripts

PROVIDERS: Final = ("claude", "codex")
ProviderName = Literal["claude", "codex"]
REDACTED: Final = "********"


class Headless(Model):
    tmux_prefix: str = "relay"
    shutdown_timeout_ms: int = 10_000


class ProviderConfig(Model):
    command: str
    default_args: list[str] = msgspec.field(default_factory=list)
    env: dict[str, str] = msgspec.field(default_factory=dict)
    plugin_dirs: list[str] = msgspec.field(default_factory=list)
    default_capabilities: list[str] = msgspec.field(default_factory=list)
    default_approval_mode: str = "guarded"
    default_tags: list[str] = msgspec.field(default_factory=list)
    headless: Headless = msgspec.field(default_factory=Headless)


class ProviderTestResult(msgspec.Struct, rename="camel", omit_defaults=False):
    ok: bool
    command: str
    path: str
    error: str
    checked_on: Literal["api-node", "orchestrator"] = "api-node"
    node: str | None = None
    orchestrator_id: str | None = None
    command_id: str | None = None


def default_provider_config(provider: str) -> ProviderConfig:
    if provider == "claude":
        return ProviderConfig(
            command="claude",
            default_args=[],
            default_capabilities=["chat", "code", "review"],
            default_approval_mode="guarded",
            default_tags=["claude"],
            headless=Headless(tmux_prefix="relay-claude", shutdown_timeout_ms=10_000),
        )
    return ProviderConfig(
        command="codex",
        default_args=[],
        default_capabilities=["chat", "code", "review"],
        default_approval_mode="guarded",
        default_tags=["codex"],
        headless=Headless(tmux_prefix="relay-codex", shutdown_timeout_ms=10_000),
    )


def public(config: ProviderConfig) -> ProviderConfig:
    """What the API shows: env values redacted."""
    return msgspec.structs.replace(config, env=dict.fromkeys(config.env, REDACTED))


def _is_record(value: Any) -> bool:
    return isinstance(value, dict)


def _string(value: Any, field: str, *, max_len: int, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise Invalid(f"{field} required")
        return None
    if not isinstance(value, str):
        raise Invalid(f"{field} must be a string")
    text = value.strip()
    if not text:
        if required:
            raise Invalid(f"{field} required")
        return None
    if len(text) > max_len:
        raise Invalid(f"{field} must be at most {max_len} characters")
    return text


def _string_list(value: Any, field: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid(f"{field} must be an array of strings")
    if len(value) > 200:
        raise Invalid(f"{field} must have at most 200 items")
    return [v for v in (s.strip() for s in value) if v]


# A field the body leaves out (the seed's `undefined`), unlike one it sends as null.
_ABSENT: Final = object()


def _env(value: Any, stored: dict[str, str]) -> dict[str, str]:
    if value is _ABSENT:
        return {}
    if not _is_record(value):
        raise Invalid("env must be an object")
    env: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(item, str):
            raise Invalid(f"env.{key} must be a string")
        env[key] = stored.get(key, "") if item == REDACTED and key in stored else item
    return env


def _positive_int(value: Any, field: str) -> int | None:
    if value is _ABSENT:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or value > 2**53 - 1:
        raise Invalid(f"{field} must be a positive integer")
    return value


def clean_provider_config(provider: str, body: Any, stored: ProviderConfig) -> ProviderConfig:
    """The seed's `putProviderConfigRoute` validation; absent fields take the provider's defaults."""
    if not _is_record(body):
        raise Invalid("provider config body must be an object")
    defaults = default_provider_config(provider)
    headless = body.get("headless") if _is_record(body.get("headless")) else {}
    # Checked in the seed's order: its object literal's fields, top to bottom.
    command = _string(body.get("command"), "command", max_len=500, required=True)
    assert command is not None
    args = _string_list(body.get("defaultArgs"), "defaultArgs")
    env = _env(body.get("env", _ABSENT), stored.env)
    plugin_dirs = _string_list(body.get("pluginDirs"), "pluginDirs")
    capabilities = _string_list(body.get("defaultCapabilities"), "defaultCapabilities")
    approval = _string(body.get("defaultApprovalMode"), "defaultApprovalMode", max_len=80)
    tags = _string_list(body.get("defaultTags"), "defaultTags")
    tmux_prefix = _string(headless.get("tmuxPrefix"), "headless.tmuxPrefix", max_len=120)
    shutdown = _positive_int(headless.get("shutdownTimeoutMs", _ABSENT), "headless.shutdownTimeoutMs")
    return ProviderConfig(
        command=command,
        default_args=args if args is not None else defaults.default_args,
        env=env,
        plugin_dirs=plugin_dirs if plugin_dirs is not None else defaults.plugin_dirs,
        default_capabilities=capabilities if capabilities is not None else defaults.default_capabilities,
        default_approval_mode=approval or defaults.default_approval_mode,
        default_tags=tags if tags is not None else defaults.default_tags,
        headless=Headless(
            tmux_prefix=tmux_prefix or defaults.headless.tmux_prefix,
            shutdown_timeout_ms=shutdown or defaults.headless.shutdown_timeout_ms,
        ),
    )


def check_provider_name(provider: str) -> str:
    if provider not in PROVIDERS:
        raise Invalid(f"provider must be one of: {', '.join(PROVIDERS)}")
    return provider


def check_on_this_node(config: ProviderConfig) -> ProviderTestResult:
    path = shutil.which(config.command)
    return ProviderTestResult(
        ok=path is not None,
        command=config.command,
        path=path or "",
        error="" if path else f"{config.command}: not found on this API node's PATH",
        checked_on="api-node",
        node=socket.gethostname(),
    )


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(ProviderConfig).decode
WRITE_ATTEMPTS = 20


class ProviderConfigStore:
    def __init__(self, redis: Redis, scripts: Scripts) -> None:
        self.redis = redis
        self.scripts = scripts

    async def load(self, provider: str) -> ProviderConfig:
        raw = await self.redis.get(keys.provider_config(provider))
        return _decode(raw) if raw else default_provider_config(provider)

    async def load_all(self) -> dict[str, ProviderConfig]:
        raws = await self.redis.mget([keys.provider_config(p) for p in PROVIDERS])
        return {p: _decode(raw) if raw else default_provider_config(p) for p, raw in zip(PROVIDERS, raws, strict=True)}

    async def write(self, provider: str, body: Any) -> ProviderConfig:
        """Validate against the stored config (redacted env values keep theirs) and save, optimistically:
        a save that raced another node's is recomputed on the newer config, never written over it."""
        key = keys.provider_config(provider)
        for _ in range(WRITE_ATTEMPTS):
            raw = await self.redis.get(key)
            config = clean_provider_config(provider, body, _decode(raw) if raw else default_provider_config(provider))
            # A compare-and-set script rather than WATCH/MULTI, which a cluster client cannot run.
            if await self.scripts.run("provider_config_swap", [key], [raw or "", _encode(config)]):
                return config
        raise Conflict("provider config is being changed by another request; try again")

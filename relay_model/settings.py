"""Settings read once from the environment; shared by API nodes and workers.

Every variable is documented in the README's configuration table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from .integrations import Integration, load_integrations
from .roles import DEFAULT_RATE_PER_MINUTE, ROLES


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = float(raw)
    if value <= 0:
        raise ValueError(f"{name} must be positive")
    return value


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = int(raw)
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer")
    return value


def _str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _secret(name: str, default: str = "") -> str:
    """A secret from `NAME`, or from the file `NAME_FILE` names (a mounted Kubernetes/Docker secret).

    A file keeps the value out of the process environment, which `kubectl describe`, crash dumps and
    child processes would otherwise show. Setting both is refused: which one wins would be a guess.
    """
    path = _str(f"{name}_FILE")
    if not path:
        return _str(name, default)
    if os.environ.get(name, "").strip():
        raise ValueError(f"set {name} or {name}_FILE, not both")
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"{name}_FILE: cannot read {path}: {exc.strerror}") from exc


def with_password(url: str, password: str) -> str:
    """`url` with `password` put in when the URL carries none (a password kept apart from the URL)."""
    if not password or not url:
        return url
    parts = urlsplit(url)
    if parts.password:
        return url
    user = quote(parts.username or "", safe="")
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:{quote(password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _count(name: str, default: int) -> int:
    """A non-negative integer where 0 means "no limit"."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = int(raw)
    if value < 0:
        raise ValueError(f"{name} must be 0 (unlimited) or a positive integer")
    return value


def _seconds(name: str, default: float) -> float:
    """A non-negative number of seconds (0 allowed)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = float(raw)
    if value < 0:
        raise ValueError(f"{name} must be 0 or a positive number of seconds")
    return value


def _choice(name: str, allowed: tuple[str, ...], default: str) -> str:
    value = _str(name, default).lower()
    if value == "off":
        value = ""
    if value not in allowed:
        raise ValueError(f"{name} must be one of: {', '.join(a or 'off' for a in allowed)}")
    return value


def _flag(name: str) -> bool:
    return _str(name).lower() in ("1", "true", "yes", "on")


def _rate_limits() -> dict[str, int]:
    return {
        role: _count(f"AGENT_RELAY_RATE_LIMIT_{role.upper()}_PER_MINUTE", DEFAULT_RATE_PER_MINUTE[role])
        for role in ROLES
    }


@dataclass(frozen=True, kw_only=True)
class Settings:
    redis_url: str = "redis://127.0.0.1:6379/0"
    # arq's queue keys are not cluster-aware, so the job queue may live on a plain Redis of its own.
    queue_redis_url: str = ""
    admin_token: str = ""
    max_body_bytes: int = 1024 * 1024
    stale_after_s: float = 60.0
    offline_after_s: float = 300.0
    reap_interval_s: float = 5.0
    claim_ttl_ms: int = 5 * 60 * 1000
    event_stream_maxlen: int = 10_000
    sse_keepalive_s: float = 15.0
    sse_client_queue: int = 1000
    host_base_dir: str = field(default_factory=lambda: os.path.expanduser("~"))
    user_recipes_dir: str = ""
    data_dir: str = ""
    # Reaper: at most this many due items per Lua call; a pass loops until a batch comes back short.
    reap_batch_size: int = 200
    # A cron slot later than this is a misfire: one catch-up run, then the next future slot.
    automation_misfire_grace_ms: int = 10_000
    # Commands: a ttl for commands created without ttlMs (0 = they never expire), and how long
    # final commands are kept before the reaper purges them.
    command_default_ttl_ms: int = 0
    command_retention_s: float = 7 * 24 * 3600.0
    # How long `POST /api/connectors/:id/actions` waits for the host's outcome before a 502.
    connector_wait_s: float = 10.0
    integrations: tuple[Integration, ...] = ()
    integration_rate_limit_per_minute: int = 120
    callback_timeout_s: float = 10.0
    callback_max_attempts: int = 8
    callback_backoff_ms: int = 1000
    callback_backoff_max_ms: int = 300_000
    pair_ttl_ms: int = 10 * 60 * 1000
    callback_retention: int = 10_000
    # --- auth and limits (tokens, rate limits, SSE, outbound policy) ---
    token_secret: str = ""
    token_secret_previous: str = ""
    token_default_ttl_s: int = 90 * 24 * 3600
    token_max_ttl_s: int = 366 * 24 * 3600
    rate_limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_RATE_PER_MINUTE))
    sse_max_per_token: int = 20
    outbound_block_private: bool = False
    outbound_allow_cidrs: str = ""
    # --- operations (probes, drain, logs, tracing) ---
    # Readiness stays up while Redis has failed for less than this (a blip must not empty the Service).
    ready_redis_budget_s: float = 10.0
    # SIGTERM: readiness drops at once; requests are still served this long, then SSE streams end
    # cleanly and in-flight requests get up to `shutdown_timeout_s` to finish.
    drain_delay_s: float = 0.0
    shutdown_timeout_s: float = 20.0
    log_format: str = "json"
    access_log: bool = False
    tracing: str = ""

    @property
    def effective_queue_url(self) -> str:
        return self.queue_redis_url or self.redis_url

    @classmethod
    def from_env(cls) -> Settings:
        # One password for the URLs that carry none (the in-cluster Redis of deploy/k8s).
        redis_password = _secret("AGENT_RELAY_REDIS_PASSWORD")
        return cls(
            redis_url=with_password(_secret("REDIS_URL", "redis://127.0.0.1:6379/0"), redis_password),
            queue_redis_url=with_password(_secret("AGENT_RELAY_QUEUE_REDIS_URL"), redis_password),
            admin_token=_secret("AGENT_RELAY_ADMIN_TOKEN"),
            max_body_bytes=_int("AGENT_RELAY_MAX_BODY_BYTES", 1024 * 1024),
            stale_after_s=_float("AGENT_RELAY_STALE_AFTER_S", 60.0),
            offline_after_s=_float("AGENT_RELAY_OFFLINE_AFTER_S", 300.0),
            reap_interval_s=_float("AGENT_RELAY_REAP_INTERVAL_S", 5.0),
            claim_ttl_ms=_int("AGENT_RELAY_CLAIM_TTL_MS", 5 * 60 * 1000),
            event_stream_maxlen=_int("AGENT_RELAY_EVENT_RETENTION", 10_000),
            sse_keepalive_s=_float("AGENT_RELAY_SSE_KEEPALIVE_S", 15.0),
            sse_client_queue=_int("AGENT_RELAY_SSE_CLIENT_QUEUE", 1000),
            host_base_dir=_str("AGENT_RELAY_HOST_BASE_DIR") or os.path.expanduser("~"),
            user_recipes_dir=_str("AGENT_RELAY_RECIPES_DIR"),
            data_dir=_str("AGENT_RELAY_DATA_DIR"),
            reap_batch_size=_int("AGENT_RELAY_REAP_BATCH", 200),
            automation_misfire_grace_ms=_int("AGENT_RELAY_AUTOMATION_MISFIRE_GRACE_MS", 10_000),
            command_default_ttl_ms=max(0, int(_str("AGENT_RELAY_COMMAND_DEFAULT_TTL_MS") or 0)),
            command_retention_s=_float("AGENT_RELAY_COMMAND_RETENTION_S", 7 * 24 * 3600.0),
            connector_wait_s=_float("AGENT_RELAY_CONNECTOR_WAIT_S", 10.0),
            integrations=load_integrations(),
            integration_rate_limit_per_minute=_int("AGENT_RELAY_INTEGRATION_RATE_LIMIT_PER_MINUTE", 120),
            callback_timeout_s=_float("AGENT_RELAY_CALLBACK_TIMEOUT_S", 10.0),
            callback_max_attempts=_int("AGENT_RELAY_CALLBACK_MAX_ATTEMPTS", 8),
            callback_backoff_ms=_int("AGENT_RELAY_CALLBACK_BACKOFF_MS", 1000),
            callback_backoff_max_ms=_int("AGENT_RELAY_CALLBACK_BACKOFF_MAX_MS", 300_000),
            pair_ttl_ms=_int("AGENT_RELAY_PAIR_TTL_MS", 10 * 60 * 1000),
            callback_retention=_int("AGENT_RELAY_CALLBACK_RETENTION", 10_000),
            token_secret=_secret("AGENT_RELAY_TOKEN_SECRET"),
            token_secret_previous=_secret("AGENT_RELAY_TOKEN_SECRET_PREVIOUS"),
            token_default_ttl_s=_int("AGENT_RELAY_TOKEN_DEFAULT_TTL_S", 90 * 24 * 3600),
            token_max_ttl_s=_int("AGENT_RELAY_TOKEN_MAX_TTL_S", 366 * 24 * 3600),
            rate_limits=_rate_limits(),
            sse_max_per_token=_count("AGENT_RELAY_SSE_MAX_PER_TOKEN", 20),
            outbound_block_private=_flag("AGENT_RELAY_OUTBOUND_BLOCK_PRIVATE"),
            outbound_allow_cidrs=_str("AGENT_RELAY_OUTBOUND_ALLOW_CIDRS"),
            ready_redis_budget_s=_float("AGENT_RELAY_READY_REDIS_BUDGET_S", 10.0),
            drain_delay_s=_seconds("AGENT_RELAY_DRAIN_DELAY_S", 0.0),
            shutdown_timeout_s=_float("AGENT_RELAY_SHUTDOWN_TIMEOUT_S", 20.0),
            log_format=_choice("AGENT_RELAY_LOG_FORMAT", ("json", "text"), "json"),
            access_log=_flag("AGENT_RELAY_ACCESS_LOG"),
            tracing=_choice("AGENT_RELAY_TRACING", ("", "otlp", "console"), ""),
        )

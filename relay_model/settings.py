"""Settings read once from the environment; shared by API nodes and workers.

Every variable is documented in the README's configuration table. This module imports nothing of
the relay (every package may read settings), so the values it holds are plain: numbers, strings,
the per-role rate limits and the configured integrations (`Integration`, read from
`AGENT_RELAY_INTEGRATIONS` / `AGENT_RELAY_INTEGRATIONS_FILE`). Each default is written once, as the
field's default; `from_env` falls back to it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, urlsplit, urlunsplit

import msgspec
import yaml

# Requests per token per minute, per role, across all nodes (0 = unlimited). High enough that an agent
# polling its inbox every second and heartbeating stays far below; an orchestrator speaks for many
# agents. The roles are relay_model.auth.roles.ROLES (a test keeps the two in step).
DEFAULT_RATE_PER_MINUTE: Final[dict[str, int]] = {
    "admin": 0,
    "operator": 3000,
    "orchestrator": 6000,
    "agent": 1200,
    "integration": 1200,
    "viewer": 1200,
}


# --- integrations ---------------------------------------------------------------------------------
# Operator-configured tokens for external systems (alerting, CI, chat bridges), the same list on every
# node, from `AGENT_RELAY_INTEGRATIONS` (a JSON array) or `AGENT_RELAY_INTEGRATIONS_FILE` (the same as
# YAML or JSON):
#
#     - name: pagerduty              # [A-Za-z0-9._-], unique; becomes the task `source`
#       token: "…"                   # the integration's bearer token (at least 16 characters)
#       scopes: [tasks:write]        # empty = every integration scope
#       targets: [backend, "channel:alerts"]   # allowed `target` values; empty = any
#       channels: [alerts]           # allowed channels; empty = any
#       callbackUrl: https://…       # optional: task changes are POSTed here
#       secret: "…"                  # optional HMAC key for callbacks (defaults to the token)
#
# What the relay does with them is in relay_model.integrations (and the matching rules below are the
# seed's `hasIntegrationScope` and `isIntegrationAllowed`).

INTEGRATION_NAME_RE: Final = re.compile(r"^[A-Za-z0-9._-]{1,80}$")
MIN_INTEGRATION_TOKEN_CHARS: Final = 16


class Integration(msgspec.Struct, kw_only=True, rename="camel", frozen=True):
    name: str
    token: str
    scopes: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    callback_url: str | None = None
    secret: str | None = None

    @property
    def signing_key(self) -> bytes:
        return (self.secret or self.token).encode()

    def has_scope(self, scope: str) -> bool:
        """The seed's hasIntegrationScope: no scopes configured means every scope."""
        return not self.scopes or scope in self.scopes or "*" in self.scopes

    def allows(self, *, target: str, channel: str | None) -> bool:
        """The seed's isIntegrationAllowed."""
        if self.targets and target not in self.targets:
            return False
        return not (self.channels and channel and channel not in self.channels)


def url_problem(url: str) -> str | None:
    """Why `url` is not an http(s) URL with a host, or None: the one rule for configured callback URLs
    and for every outbound request (`relay_model.outbound.check_url`)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "only http and https URLs are allowed"
    if not parts.hostname:
        return "URL has no host"
    return None


def parse_integrations(raw: Any, origin: str) -> tuple[Integration, ...]:
    """Validate a decoded list of integration objects; errors name the origin and the entry."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValueError(f"{origin}: expected a list of integrations")
    out: list[Integration] = []
    names: set[str] = set()
    tokens: set[str] = set()
    for i, item in enumerate(raw):
        where = f"{origin}: integration #{i + 1}"
        try:
            integ = msgspec.convert(item, Integration)
        except msgspec.ValidationError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if not INTEGRATION_NAME_RE.match(integ.name):
            raise ValueError(f"{where}: name must be 1-80 characters of A-Z a-z 0-9 . _ -")
        if len(integ.token) < MIN_INTEGRATION_TOKEN_CHARS:
            raise ValueError(f"{where} ({integ.name}): token must be at least {MIN_INTEGRATION_TOKEN_CHARS} characters")
        if integ.callback_url is not None and (problem := url_problem(integ.callback_url)):
            raise ValueError(f"{where} ({integ.name}): callbackUrl: {problem}")
        if integ.name in names:
            raise ValueError(f"{where}: duplicate name {integ.name}")
        if integ.token in tokens:
            raise ValueError(f"{where} ({integ.name}): token is used by another integration")
        names.add(integ.name)
        tokens.add(integ.token)
        out.append(integ)
    return tuple(out)


def load_integrations() -> tuple[Integration, ...]:
    inline = os.environ.get("AGENT_RELAY_INTEGRATIONS", "").strip()
    path = os.environ.get("AGENT_RELAY_INTEGRATIONS_FILE", "").strip()
    if inline and path:
        raise ValueError("set AGENT_RELAY_INTEGRATIONS or AGENT_RELAY_INTEGRATIONS_FILE, not both")
    if inline:
        try:
            return parse_integrations(json.loads(inline), "AGENT_RELAY_INTEGRATIONS")
        except json.JSONDecodeError as exc:
            raise ValueError(f"AGENT_RELAY_INTEGRATIONS is not valid JSON: {exc}") from None
    if path:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ValueError(f"AGENT_RELAY_INTEGRATIONS_FILE {path}: {exc}") from None
        try:
            data = yaml.safe_load(text)  # YAML is a superset of JSON: both formats load here
        except yaml.YAMLError as exc:
            raise ValueError(f"AGENT_RELAY_INTEGRATIONS_FILE {path}: {exc}") from None
        if isinstance(data, dict) and "integrations" in data:
            data = data["integrations"]
        return parse_integrations(data, path)
    return ()


# --- environment readers --------------------------------------------------------------------------


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
    """A non-negative number of seconds (0 allowed; for the retention caps 0 means "no limit")."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = float(raw)
    if value < 0:
        raise ValueError(f"{name} must be 0 (no limit) or a positive number of seconds")
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


def _rate_limits(defaults: dict[str, int]) -> dict[str, int]:
    return {
        role: _count(f"AGENT_RELAY_RATE_LIMIT_{role.upper()}_PER_MINUTE", value) for role, value in defaults.items()
    }


@dataclass(frozen=True, kw_only=True)
class Settings:
    redis_url: str = "redis://127.0.0.1:6379/0"
    # REDIS_URL names one node of a Redis Cluster (the client finds the others).
    redis_cluster: bool = False
    # arq's queue keys are not cluster-aware, so the job queue may live on a plain Redis of its own
    # (with a cluster it must: `worker_problem`).
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
    # --- retention (the reaper deletes what is past a cap; 0 = no cap of that kind) ---
    # Generous counts bound Redis memory without touching a small install (see the README's sizing
    # table); ages are off unless set.
    message_retention_s: float = 0.0
    message_max: int = 1_000_000
    activity_retention_s: float = 0.0
    activity_max: int = 1_000_000
    task_retention_s: float = 0.0
    task_max: int = 100_000
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
    # --- HTTP server limits, before a request reaches the app (relay_api/http_limits.py) ---
    max_header_bytes: int = 16 * 1024  # request line + headers
    max_request_line_bytes: int = 8 * 1024  # the request target (path + query)
    header_timeout_s: float = 10.0  # connection open / first byte -> end of the head
    body_timeout_s: float = 30.0  # end of the head -> end of the body
    send_timeout_s: float = 30.0  # a response's writes paused (the client reads nothing) this long: cut

    @property
    def effective_queue_url(self) -> str:
        return self.queue_redis_url or self.redis_url

    def worker_problem(self) -> str | None:
        """Why a worker cannot run with these settings, or None."""
        if self.redis_cluster and (not self.queue_redis_url or self.queue_redis_url == self.redis_url):
            return (
                "AGENT_RELAY_REDIS_CLUSTER is set but AGENT_RELAY_QUEUE_REDIS_URL does not name a separate Redis: "
                "the worker's job queue (arq) cannot live on a Redis Cluster; "
                "set AGENT_RELAY_QUEUE_REDIS_URL to a plain (non-cluster) Redis"
            )
        return None

    @classmethod
    def from_env(cls) -> Settings:
        d = cls()  # the defaults, written once above
        # One password for the URLs that carry none (the in-cluster Redis of deploy/k8s).
        redis_password = _secret("AGENT_RELAY_REDIS_PASSWORD")
        return cls(
            redis_url=with_password(_secret("REDIS_URL", d.redis_url), redis_password),
            redis_cluster=_flag("AGENT_RELAY_REDIS_CLUSTER"),
            queue_redis_url=with_password(_secret("AGENT_RELAY_QUEUE_REDIS_URL", d.queue_redis_url), redis_password),
            admin_token=_secret("AGENT_RELAY_ADMIN_TOKEN", d.admin_token),
            max_body_bytes=_int("AGENT_RELAY_MAX_BODY_BYTES", d.max_body_bytes),
            stale_after_s=_float("AGENT_RELAY_STALE_AFTER_S", d.stale_after_s),
            offline_after_s=_float("AGENT_RELAY_OFFLINE_AFTER_S", d.offline_after_s),
            reap_interval_s=_float("AGENT_RELAY_REAP_INTERVAL_S", d.reap_interval_s),
            claim_ttl_ms=_int("AGENT_RELAY_CLAIM_TTL_MS", d.claim_ttl_ms),
            event_stream_maxlen=_int("AGENT_RELAY_EVENT_RETENTION", d.event_stream_maxlen),
            sse_keepalive_s=_float("AGENT_RELAY_SSE_KEEPALIVE_S", d.sse_keepalive_s),
            sse_client_queue=_int("AGENT_RELAY_SSE_CLIENT_QUEUE", d.sse_client_queue),
            host_base_dir=_str("AGENT_RELAY_HOST_BASE_DIR") or d.host_base_dir,
            user_recipes_dir=_str("AGENT_RELAY_RECIPES_DIR", d.user_recipes_dir),
            data_dir=_str("AGENT_RELAY_DATA_DIR", d.data_dir),
            reap_batch_size=_int("AGENT_RELAY_REAP_BATCH", d.reap_batch_size),
            automation_misfire_grace_ms=_int("AGENT_RELAY_AUTOMATION_MISFIRE_GRACE_MS", d.automation_misfire_grace_ms),
            command_default_ttl_ms=max(0, int(_str("AGENT_RELAY_COMMAND_DEFAULT_TTL_MS") or d.command_default_ttl_ms)),
            command_retention_s=_float("AGENT_RELAY_COMMAND_RETENTION_S", d.command_retention_s),
            connector_wait_s=_float("AGENT_RELAY_CONNECTOR_WAIT_S", d.connector_wait_s),
            integrations=load_integrations(),
            integration_rate_limit_per_minute=_int(
                "AGENT_RELAY_INTEGRATION_RATE_LIMIT_PER_MINUTE", d.integration_rate_limit_per_minute
            ),
            callback_timeout_s=_float("AGENT_RELAY_CALLBACK_TIMEOUT_S", d.callback_timeout_s),
            callback_max_attempts=_int("AGENT_RELAY_CALLBACK_MAX_ATTEMPTS", d.callback_max_attempts),
            callback_backoff_ms=_int("AGENT_RELAY_CALLBACK_BACKOFF_MS", d.callback_backoff_ms),
            callback_backoff_max_ms=_int("AGENT_RELAY_CALLBACK_BACKOFF_MAX_MS", d.callback_backoff_max_ms),
            pair_ttl_ms=_int("AGENT_RELAY_PAIR_TTL_MS", d.pair_ttl_ms),
            callback_retention=_int("AGENT_RELAY_CALLBACK_RETENTION", d.callback_retention),
            message_retention_s=_seconds("AGENT_RELAY_MESSAGE_RETENTION_S", d.message_retention_s),
            message_max=_count("AGENT_RELAY_MESSAGE_MAX", d.message_max),
            activity_retention_s=_seconds("AGENT_RELAY_ACTIVITY_RETENTION_S", d.activity_retention_s),
            activity_max=_count("AGENT_RELAY_ACTIVITY_MAX", d.activity_max),
            task_retention_s=_seconds("AGENT_RELAY_TASK_RETENTION_S", d.task_retention_s),
            task_max=_count("AGENT_RELAY_TASK_MAX", d.task_max),
            token_secret=_secret("AGENT_RELAY_TOKEN_SECRET", d.token_secret),
            token_secret_previous=_secret("AGENT_RELAY_TOKEN_SECRET_PREVIOUS", d.token_secret_previous),
            token_default_ttl_s=_int("AGENT_RELAY_TOKEN_DEFAULT_TTL_S", d.token_default_ttl_s),
            token_max_ttl_s=_int("AGENT_RELAY_TOKEN_MAX_TTL_S", d.token_max_ttl_s),
            rate_limits=_rate_limits(d.rate_limits),
            sse_max_per_token=_count("AGENT_RELAY_SSE_MAX_PER_TOKEN", d.sse_max_per_token),
            outbound_block_private=_flag("AGENT_RELAY_OUTBOUND_BLOCK_PRIVATE"),
            outbound_allow_cidrs=_str("AGENT_RELAY_OUTBOUND_ALLOW_CIDRS", d.outbound_allow_cidrs),
            ready_redis_budget_s=_float("AGENT_RELAY_READY_REDIS_BUDGET_S", d.ready_redis_budget_s),
            drain_delay_s=_seconds("AGENT_RELAY_DRAIN_DELAY_S", d.drain_delay_s),
            shutdown_timeout_s=_float("AGENT_RELAY_SHUTDOWN_TIMEOUT_S", d.shutdown_timeout_s),
            log_format=_choice("AGENT_RELAY_LOG_FORMAT", ("json", "text"), d.log_format),
            access_log=_flag("AGENT_RELAY_ACCESS_LOG"),
            tracing=_choice("AGENT_RELAY_TRACING", ("", "otlp", "console"), d.tracing),
            max_header_bytes=_int("AGENT_RELAY_MAX_HEADER_BYTES", d.max_header_bytes),
            max_request_line_bytes=_int("AGENT_RELAY_MAX_REQUEST_LINE_BYTES", d.max_request_line_bytes),
            header_timeout_s=_float("AGENT_RELAY_HEADER_TIMEOUT_S", d.header_timeout_s),
            body_timeout_s=_float("AGENT_RELAY_BODY_TIMEOUT_S", d.body_timeout_s),
            send_timeout_s=_float("AGENT_RELAY_SEND_TIMEOUT_S", d.send_timeout_s),
        )

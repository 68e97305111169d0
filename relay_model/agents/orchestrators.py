"""Orchestrators: the host daemons that spawn and manage agents, and the store that keeps them.

Each orchestrator owns an agent card of kind `orchestrator` with id `orchestrator:<id>`
(`agent_id_for`): that is the `target` of the commands sent to it (spawn, restart/shutdown of all
its agents), so it reads them from its queue like any agent
(`GET /api/commands?target=orchestrator:<id>&status=pending`). Registering the orchestrator
upserts that card; heartbeats keep both alive in one script; deleting removes both.

Liveness follows agents: `online` while heartbeats arrive; the reaper marks it `stale` after
`AGENT_RELAY_STALE_AFTER_S` and `offline` after `AGENT_RELAY_OFFLINE_AFTER_S` (reading only the
due part of the liveness zsets, compare-and-set per orchestrator, event `orchestrator.status`).
Spawning needs an `online` orchestrator.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlsplit

import httpx
import msgspec
from msgspec import Meta
from redis.asyncio import Redis

from relay_model import keys
from relay_model.agents.agents import AgentStore, RegisterAgentInput
from relay_model.base import Input, Model
from relay_model.clock import now_ms
from relay_model.errors import Invalid, NotFound
from relay_model.scripts import Scripts
from relay_model.validation import JsonObject, Path, ShortText, check_json_size, required_text

ORCHESTRATOR_PROVIDERS: Final = ("claude", "codex")
SPAWN_APPROVALS: Final = ("open", "guarded", "read-only")
OrchestratorStatus = Literal["online", "stale", "offline"]
Provider = Literal["claude", "codex"]
ApprovalMode = Literal["open", "guarded", "read-only"]
MAX_MANAGED_AGENTS: Final = 500
REAP_BATCH: Final = 500
MAX_BATCHES: Final = 20

OrchestratorId = Annotated[str, Meta(max_length=120)]
Hostname = Annotated[str, Meta(max_length=240)]
EnvKey = Annotated[str, Meta(max_length=200)]


def agent_id_for(orchestrator_id: str) -> str:
    return f"orchestrator:{orchestrator_id}"


class Orchestrator(Model):
    id: str
    hostname: str
    agent_id: str
    providers: list[str] = msgspec.field(default_factory=lambda: list(ORCHESTRATOR_PROVIDERS))
    base_dir: str | None = None
    env_keys: list[str] = msgspec.field(default_factory=list)
    meta: JsonObject = msgspec.field(default_factory=dict)
    api_url: str | None = None
    status: OrchestratorStatus = "online"
    last_seen: int | None = None
    registered_at: int | None = None
    version: str | None = None
    protocol_version: int | None = None
    git_sha: str | None = None
    # What the orchestrator reports it runs (`PATCH /api/orchestrators/:id/agents`), kept as sent.
    agents: list[JsonObject] = msgspec.field(default_factory=list)


class RegisterOrchestratorInput(Input):
    id: OrchestratorId
    hostname: Hostname
    providers: Annotated[list[str], Meta(max_length=10)] | None = None
    base_dir: Path | None = None
    env_keys: Annotated[list[EnvKey], Meta(max_length=200)] | None = None
    version: ShortText | None = None
    # Absent is "not reported"; anything else, null included, must be a positive integer (the seed).
    protocol_version: Annotated[Any, Meta(description="positive integer")] = msgspec.UNSET
    git_sha: ShortText | None = None
    meta: JsonObject | None = None
    api_url: Annotated[str, Meta(max_length=500)] | None = None
    # The bearer token the relay sends when it proxies to `apiUrl` (the directory picker). Written
    # only: kept beside the record, never in its JSON, so no reader of the orchestrator sees it.
    api_token: Annotated[str, Meta(max_length=500)] | None = None


class OrchestratorHeartbeatInput(Input):
    """Optional runtime details an orchestrator reports with each heartbeat."""

    version: ShortText | None = None
    protocol_version: Annotated[Any, Meta(description="positive integer")] = msgspec.UNSET
    git_sha: ShortText | None = None


class ManagedAgentsInput(Input):
    agents: Any = None


class _Doc(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=False):
    id: str
    hostname: str
    agent_id: str
    providers: list[str]
    base_dir: str | None
    env_keys: list[str]
    meta: JsonObject
    api_url: str | None


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Orchestrator).decode


def decode_orchestrator(raw: str | bytes) -> Orchestrator:
    return _decode(raw)


def clean_protocol_version(value: Any) -> int | None:
    """The seed's `cleanProtocolVersion`: absent is None, otherwise (null too) a positive integer."""
    if value is msgspec.UNSET:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) or value <= 0:
        raise Invalid("protocolVersion must be a positive integer")
    return int(value)


def clean_providers(value: list[str] | None) -> list[str]:
    """Defaults to both; each entry must be a known provider (order kept, duplicates dropped)."""
    if value is None:
        return list(ORCHESTRATOR_PROVIDERS)
    if any(p not in ORCHESTRATOR_PROVIDERS for p in value):
        raise Invalid(f"providers must be one of: {', '.join(ORCHESTRATOR_PROVIDERS)}")
    return list(dict.fromkeys(value))


API_URL_TEXT: Final = "apiUrl must be an http or https URL"
API_URL_ORIGIN_TEXT: Final = (
    "apiUrl must be an origin: http(s)://host[:port], without a path, query, fragment or user info"
)


def api_url_problem(url: str) -> str | None:
    """Why `url` cannot be an orchestrator's API base, or None. The relay appends the one path it
    proxies (`/api/directories`), so the URL is an origin only: a path, `?`, `#`, `..` or user info
    would let the registrant choose what the relay fetches."""
    if not url.lower().startswith(("http://", "https://")):
        return API_URL_TEXT
    try:
        parts = urlsplit(url)
        if parts.port == 0:
            raise ValueError("port 0")
        host = str(httpx.URL(url).host)
    except (ValueError, httpx.InvalidURL) as exc:
        return f"apiUrl is not a valid URL: {exc}"
    if parts.scheme not in ("http", "https") or not parts.hostname or not host:
        return API_URL_TEXT
    if parts.path or parts.query or parts.fragment or any(c in url for c in "?#@\\") or not url.isprintable():
        return API_URL_ORIGIN_TEXT
    if any(c.isspace() for c in url):
        return API_URL_ORIGIN_TEXT
    return None


def clean_api_url(value: str | None) -> str | None:
    """An orchestrator's API base URL (an http(s) origin, see `api_url_problem`); a trailing slash is dropped."""
    if value is None or not value.strip():
        return None
    url = value.strip().rstrip("/")
    if problem := api_url_problem(url):
        raise Invalid(problem)
    return url


def first_online(orchestrators: Iterable[Orchestrator], provider: str) -> Orchestrator:
    """The first online orchestrator offering `provider`, in registration order (spawns, recipes, provider tests).

    400 "no orchestrator available for provider: X" when there is none.
    """
    orch = next((o for o in orchestrators if o.status == "online" and provider in o.providers), None)
    if orch is None:
        raise Invalid("no orchestrator available for provider: " + provider)
    return orch


class OrchestratorStore:
    def __init__(self, redis: Redis, scripts: Scripts, agents: AgentStore, *, event_maxlen: int) -> None:
        self.redis = redis
        self.scripts = scripts
        self.agents = agents
        self.maxlen = event_maxlen

    def _keys(self, orchestrator_id: str) -> list[str]:
        return [
            keys.orchestrator(orchestrator_id),
            keys.orchestrators_all(),
            keys.orchestrators_live(),
            keys.orchestrators_stale(),
            keys.agent(agent_id_for(orchestrator_id)),
            keys.agents_live(),
            keys.agents_stale(),
            keys.events(keys.BUS),
        ]

    async def _write(self, orchestrator_id: str, mode: str, **args: Any) -> tuple[bool, Orchestrator | None]:
        reply = await self.scripts.run_checked(
            "orchestrator_write",
            self._keys(orchestrator_id),
            [
                args.get("now") or now_ms(),
                orchestrator_id,
                mode,
                self.maxlen,
                args.get("doc", ""),
                args.get("version") or "",
                args.get("protocol_version") or "",
                args.get("git_sha") or "",
                args.get("agents", ""),
                args.get("cutoff", ""),
                args.get("status", ""),
                agent_id_for(orchestrator_id),
                args.get("api_token") or "",
            ],
        )
        return bool(int(reply[0])), (decode_orchestrator(reply[1]) if reply[1] else None)

    async def upsert(self, data: RegisterOrchestratorInput) -> tuple[Orchestrator, bool]:
        orchestrator_id = required_text(data.id, "id")
        hostname = required_text(data.hostname, "hostname")
        protocol_version = clean_protocol_version(data.protocol_version)
        api_url = clean_api_url(data.api_url)
        check_json_size(data.meta, "meta")
        providers = clean_providers(data.providers)
        agent_id = agent_id_for(orchestrator_id)
        # Its agent card first, so the orchestrator script finds it and keeps it alive with it.
        await self.agents.register(
            RegisterAgentInput(
                id=agent_id,
                name=f"{hostname} orchestrator",
                kind="orchestrator",
                host=hostname,
                cwd=data.base_dir,
                version=data.version,
                orchestrator_id=orchestrator_id,
                meta={"orchestratorId": orchestrator_id, "providers": providers},
            )
        )
        doc = _Doc(
            id=orchestrator_id,
            hostname=hostname,
            agent_id=agent_id,
            providers=providers,
            base_dir=data.base_dir,
            env_keys=list(dict.fromkeys(data.env_keys or [])),
            meta=data.meta or {},
            api_url=api_url,
        )
        created, orch = await self._write(
            orchestrator_id,
            "upsert",
            doc=_encode(doc),
            version=data.version,
            protocol_version=protocol_version,
            git_sha=data.git_sha,
            api_token=(data.api_token or "").strip(),
        )
        assert orch is not None
        return orch, created

    async def api_token(self, orchestrator_id: str) -> str | None:
        """The bearer token its API expects (registered with it), or None."""
        raw: str | None = await self.redis.hget(keys.orchestrator(orchestrator_id), "apiToken")  # type: ignore[misc]
        return raw or None

    async def get(self, orchestrator_id: str) -> Orchestrator | None:
        raw: str | None = await self.redis.hget(keys.orchestrator(orchestrator_id), "json")  # type: ignore[misc]
        return decode_orchestrator(raw) if raw else None

    async def require(self, orchestrator_id: str) -> Orchestrator:
        orch = await self.get(orchestrator_id)
        if orch is None:
            raise NotFound("orchestrator not found")
        return orch

    async def list(self) -> list[Orchestrator]:
        """Every orchestrator in registration order (a handful per deployment)."""
        ids = await self.redis.zrange(keys.orchestrators_all(), 0, -1)
        if not ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for orchestrator_id in ids:
            pipe.hget(keys.orchestrator(orchestrator_id), "json")
        return [decode_orchestrator(raw) for raw in await pipe.execute() if raw]

    async def heartbeat(self, orchestrator_id: str, data: OrchestratorHeartbeatInput) -> Orchestrator:
        protocol_version = clean_protocol_version(data.protocol_version)
        _, orch = await self._write(
            orchestrator_id, "heartbeat", version=data.version, protocol_version=protocol_version, git_sha=data.git_sha
        )
        assert orch is not None
        return orch

    async def set_agents(self, orchestrator_id: str, agents: Any) -> Orchestrator:
        if not isinstance(agents, list):
            raise Invalid("agents must be an array")
        if len(agents) > MAX_MANAGED_AGENTS:
            raise Invalid(f"agents must have at most {MAX_MANAGED_AGENTS} items")
        if not all(isinstance(a, dict) for a in agents):
            raise Invalid("agents must be an array of objects")
        check_json_size(agents, "agents", limit=1024 * 1024)
        _, orch = await self._write(orchestrator_id, "agents", agents=_encode(agents))
        assert orch is not None
        return orch

    async def delete(self, orchestrator_id: str) -> Orchestrator | None:
        raw = await self.scripts.run(
            "orchestrator_delete",
            [
                keys.orchestrator(orchestrator_id),
                keys.orchestrators_all(),
                keys.orchestrators_live(),
                keys.orchestrators_stale(),
                keys.events(keys.BUS),
            ],
            [orchestrator_id, self.maxlen],
        )
        if not raw:
            return None
        await self.agents.delete(agent_id_for(orchestrator_id))
        return decode_orchestrator(raw)

    async def reap(self, now: int, *, stale_after_ms: int, offline_after_ms: int) -> builtins.list[Orchestrator]:
        """online -> stale -> offline by heartbeat age; reads only the due part of each zset."""
        changed: builtins.list[Orchestrator] = []
        for zset, cutoff, status in (
            # Stale first: one silent past both thresholds goes stale, then offline, in one pass.
            (keys.orchestrators_live(), now - stale_after_ms, "stale"),
            (keys.orchestrators_stale(), now - offline_after_ms, "offline"),
        ):
            # Each id examined leaves the due range (moved on, re-scored by a heartbeat, or dropped).
            for _ in range(MAX_BATCHES):
                due = await self.redis.zrangebyscore(zset, "-inf", cutoff, start=0, num=REAP_BATCH)
                for orchestrator_id in due:
                    moved, orch = await self._write(orchestrator_id, "reap", cutoff=cutoff, status=status, now=now)
                    if moved and orch is not None:
                        changed.append(orch)
                if len(due) < REAP_BATCH:
                    break
        return changed

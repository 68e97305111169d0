"""One object holding every store, built once per process from a Redis client."""

from __future__ import annotations

from redis.asyncio import Redis

from . import (
    bus_reaper,  # noqa: F401  (registers the bus group's reaper steps)
    outbound,
    work_reaper,  # noqa: F401  (registers the task, pool and pair reaper steps)
)
from .activity import ActivityStore
from .agents import AgentStore
from .automation_dispatch import ensure_consumer_groups
from .automations import AutomationStore
from .callbacks import CallbackStore
from .channels import ChannelStore
from .commands import CommandStore
from .connectors import ConnectorStore
from .events import EventLog
from .integrations import callback_filters
from .maintenance import MaintenanceStore
from .messages import MessageStore
from .orchestrators import OrchestratorStore
from .pairs import PairStore
from .providers import ProviderConfigStore
from .recipe_runner import RecipeRunner
from .scripts import Scripts
from .settings import Settings
from .tasks import TaskStore
from .tokens import TokenStore


class Relay:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings
        self.scripts = Scripts(redis)
        maxlen = settings.event_stream_maxlen
        self.events = EventLog(redis, self.scripts, maxlen=maxlen)
        self.agents = AgentStore(redis, self.scripts, event_maxlen=maxlen)
        self.messages = MessageStore(redis, self.scripts, event_maxlen=maxlen, claim_ttl_ms=settings.claim_ttl_ms)
        self.activity = ActivityStore(redis, self.scripts, event_maxlen=maxlen)
        self.maintenance = MaintenanceStore(redis)
        self.automations = AutomationStore(redis, self.scripts, event_maxlen=maxlen)
        self.commands = CommandStore(
            redis, self.scripts, event_maxlen=maxlen, default_ttl_ms=settings.command_default_ttl_ms
        )
        self.orchestrators = OrchestratorStore(redis, self.scripts, self.agents, event_maxlen=maxlen)
        self.providers = ProviderConfigStore(redis)
        self.connectors = ConnectorStore(redis, self.scripts, self.commands, wait_s=settings.connector_wait_s)
        self.commands.on_final.append(self.connectors.on_command_final)
        self.recipes = RecipeRunner(self)
        self.commands.on_final.append(self.recipes.on_command)
        # Tasks, channels/pools, pairs and callbacks (their reaper steps live in work_reaper.py).
        self.tasks = TaskStore(
            redis,
            self.scripts,
            event_maxlen=maxlen,
            claim_ttl_ms=settings.claim_ttl_ms,
            callbacks=callback_filters(settings.integrations),
        )
        self.channels = ChannelStore(redis, self.scripts, event_maxlen=maxlen)
        self.pairs = PairStore(redis, self.scripts, event_maxlen=maxlen, ttl_ms=settings.pair_ttl_ms)
        self.callbacks = CallbackStore(redis, self.scripts, event_maxlen=maxlen)
        self.tokens = TokenStore(
            redis,
            self.scripts,
            secret=settings.token_secret,
            previous_secret=settings.token_secret_previous,
            default_ttl_s=settings.token_default_ttl_s,
            max_ttl_s=settings.token_max_ttl_s,
        )
        outbound.configure(settings)

    async def bootstrap(self) -> None:
        """Idempotent start-up writes (any number of nodes may run it at once)."""
        await self.agents.ensure_builtins()
        await ensure_consumer_groups(self)

"""The composition root: one object holding every store, built once per process from a Redis client.

This is the one place that says how the relay is put together:
- `LUA_BUNDLES`: every package's Lua scripts, registered when a `Relay` is built;
- `Relay.__init__`: the stores in build order, each handed the stores it uses, and the hooks that
  run when a command ends (connectors, then recipes);
- `REAP_STEPS`: what one reaper pass does, in order (`reap_once` runs it).

Nothing below this module imports it: stores get their collaborators here, and reaper steps and
flows name what they use of a relay as Protocols that a `Relay` satisfies.
"""

from __future__ import annotations

from typing import Final

from redis.asyncio import Redis

from relay_model import agents, auth, automations, commands, integrations, messages, outbound, recipes, scripts, tasks
from relay_model.activity import ActivityStore
from relay_model.agents import reaper as agent_reaper
from relay_model.agents.agents import AgentStore
from relay_model.agents.orchestrators import OrchestratorStore
from relay_model.agents.providers import ProviderConfigStore
from relay_model.auth.tokens import TOKEN_GUARD, TokenStore, token_guard_lua
from relay_model.automations import reaper as automation_reaper
from relay_model.automations.automations import AutomationStore
from relay_model.commands import reaper as command_reaper
from relay_model.commands.commands import CommandStore
from relay_model.commands.connectors import ConnectorStore
from relay_model.events import EventLog
from relay_model.flows.automation_dispatch import AUTOMATION_ACTIONS, ensure_consumer_groups
from relay_model.integrations.callbacks import CallbackStore
from relay_model.integrations.config import callback_filters
from relay_model.maintenance import MaintenanceStore
from relay_model.messages import reaper as message_reaper
from relay_model.messages.channels import ChannelStore
from relay_model.messages.messages import MessageStore
from relay_model.messages.pairs import PairStore
from relay_model.reaper import PassReport, ReapStep, run_pass, trim_activity
from relay_model.recipes import reaper as recipe_reaper
from relay_model.recipes.loader import RecipeCatalog
from relay_model.recipes.runner import RecipeRunner
from relay_model.scripts import LuaBundle, Scripts
from relay_model.settings import Settings
from relay_model.tasks import reaper as task_reaper
from relay_model.tasks.tasks import TaskStore

LUA_BUNDLES: Final[tuple[LuaBundle, ...]] = (
    scripts.PLUMBING,
    agents.LUA,
    messages.LUA,
    tasks.LUA,
    commands.LUA,
    recipes.LUA,
    automations.LUA,
    integrations.LUA,
    auth.LUA,
)


class Relay:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings
        self.scripts = Scripts(redis, LUA_BUNDLES, guards={TOKEN_GUARD: token_guard_lua()})
        maxlen = settings.event_stream_maxlen
        # Plumbing: the event log, the activity feed, worker and reaper bookkeeping.
        self.events = EventLog(redis, self.scripts, maxlen=maxlen)
        self.activity = ActivityStore(redis, self.scripts, event_maxlen=maxlen)
        self.maintenance = MaintenanceStore(redis)
        # Agents and the hosts that run them.
        self.agents = AgentStore(redis, self.scripts, event_maxlen=maxlen)
        self.orchestrators = OrchestratorStore(redis, self.scripts, self.agents, event_maxlen=maxlen)
        self.providers = ProviderConfigStore(redis, self.scripts)
        # Messages, channels and pairs.
        self.messages = MessageStore(redis, self.scripts, event_maxlen=maxlen, claim_ttl_ms=settings.claim_ttl_ms)
        self.channels = ChannelStore(redis, self.scripts, event_maxlen=maxlen)
        self.pairs = PairStore(redis, self.scripts, event_maxlen=maxlen, ttl_ms=settings.pair_ttl_ms)
        # Tasks (their scripts queue integration callbacks).
        self.tasks = TaskStore(
            redis,
            self.scripts,
            event_maxlen=maxlen,
            claim_ttl_ms=settings.claim_ttl_ms,
            callbacks=callback_filters(settings.integrations),
        )
        # Commands, and what drives them: connectors, recipes.
        self.commands = CommandStore(
            redis, self.scripts, event_maxlen=maxlen, default_ttl_ms=settings.command_default_ttl_ms
        )
        self.connectors = ConnectorStore(redis, self.scripts, self.commands, wait_s=settings.connector_wait_s)
        self.recipes = RecipeRunner(
            redis,
            self.scripts,
            commands=self.commands,
            orchestrators=self.orchestrators,
            activity=self.activity,
            catalog=RecipeCatalog(settings.user_recipes_dir),
            event_maxlen=maxlen,
        )
        # Every final command transition is reported to these, in this order.
        self.commands.on_final.append(self.connectors.on_command_final)
        self.commands.on_final.append(self.recipes.on_command)
        # Automations (their actions are checked against the dispatch flow's table when saved).
        self.automations = AutomationStore(redis, self.scripts, event_maxlen=maxlen, actions=AUTOMATION_ACTIONS)
        # Integrations and auth.
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


# One reaper pass, top to bottom (the seed's `postSystemReap` order). Each step is in its domain's
# `reaper.py`; `relay_model.reaper` has the contract they keep.
REAP_STEPS: Final[tuple[ReapStep[Relay], ...]] = (
    ReapStep("messages.claims", message_reaper.release_expired_claims),
    ReapStep("tasks.expired_claims", task_reaper.release_expired_task_claims),
    ReapStep("commands.expire", command_reaper.expire_commands),
    ReapStep("commands.purge", command_reaper.purge_old_commands),
    ReapStep("agents.stale", agent_reaper.mark_silent_agents_stale),
    # Stale first: an agent silent past both thresholds goes stale, then offline, in one pass.
    ReapStep("agents.offline", agent_reaper.mark_lost_agents_offline),
    # After agents.offline: the tasks of an agent that went offline in this pass are freed in it too.
    ReapStep("tasks.orphans", task_reaper.release_orphaned_tasks),
    ReapStep("orchestrators.stale", agent_reaper.reap_orchestrators),
    ReapStep("pairs.expiry", message_reaper.expire_pairs),
    # After agents.offline: slots of agents that went offline in this pass move in it too.
    ReapStep("pools.slots", message_reaper.move_pool_slots),
    ReapStep("automations.abandoned_runs", automation_reaper.fail_abandoned_runs),
    ReapStep("recipes.progress", recipe_reaper.progress_recipes),
    # Retention last: nothing above needs what it deletes (it deletes only what is past a cap).
    ReapStep("messages.retention", message_reaper.trim_messages),
    ReapStep("activity.retention", trim_activity),
    ReapStep("tasks.retention", task_reaper.trim_tasks),
)


async def reap_once(relay: Relay, *, now: int | None = None, audit: bool = True, audit_idle: bool = True) -> PassReport:
    """One reaper pass (`REAP_STEPS`), as the worker and `POST /api/system/reap` run it; see `reaper.run_pass`."""
    return await run_pass(relay, REAP_STEPS, relay.activity, now=now, audit=audit, audit_idle=audit_idle)

"""`relay orchestrator`: the daemon of one developer host — registers, heartbeats, takes commands, runs agents.

Loops (asyncio tasks, one process):
- **register** (at start, and again whenever the relay forgot us: a 404 on a heartbeat);
- **heartbeat** every `heartbeat_s`: the orchestrator, and the card of every agent it runs;
- **monitor** every `monitor_s`: a managed process that ended by itself → its card `offline` at once;
- **intake**: the event stream (`command.requested`) says at once that a command arrived; a poll of
  each target's pending queue every `poll_s`, and right after the stream (re)connects, catches
  whatever the stream missed (a relay restart longer than its replay window, a refused stream);
- **directory API** with `--api-port`.

Commands it takes (see README "Running an orchestrator"): to `orchestrator:<id>` — `agent.spawn`,
`agent.restart`/`agent.shutdown` (one agent by `params.agentId`, else all), `provider.test`; any
other type is `rejected`. To each agent it manages — `agent.restart`, `agent.shutdown`, and with a
prompt-delivering adapter (claude, codex) `agent.prompt` and `task.create`. Each goes
`pending → accepted → running → succeeded | failed` (a delivered prompt stays `running`: the agent
finishes it). A command is taken by accepting it: a 409 means someone else took it or it was
canceled, and it is left alone.

Restarts: the state file (state.py) names the agents it runs and the commands it took. On start it
adopts what still runs, reports what ended meanwhile, re-sends outcomes it had not reported, and
carries on with the commands it had accepted (spawning is idempotent per command; a prompt it had
typed is left to the agent). It never stops its agents when it stops itself: they outlive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections import OrderedDict
from collections.abc import Coroutine
from typing import Any

import msgspec

from relay_client import AsyncClient, RelayError
from relay_client.models import COMMAND_FINAL_STATUSES, Command
from relay_client.orchestrator import directories
from relay_client.orchestrator.adapters import DEFAULT_ADAPTER, Adapter, adapter_named
from relay_client.orchestrator.agents import AgentManager, CommandFailed
from relay_client.orchestrator.config import PROTOCOL_VERSION, OrchestratorConfig, clean_env
from relay_client.orchestrator.procs import Supervisor
from relay_client.orchestrator.state import StateFile, TakenCommand
from relay_client.wire import version

log = logging.getLogger("relay.orchestrator")

ORCHESTRATOR_TYPES = frozenset({"agent.spawn", "agent.restart", "agent.shutdown", "provider.test"})
CONTROL_TYPES = frozenset({"agent.restart", "agent.shutdown"})
PROMPT_TYPES = frozenset({"agent.prompt", "task.create"})
SEEN_MAX = 10_000
REPORT_BACKOFF_MAX_S = 5.0
DRAIN_S = 15.0


class _Delivered:
    """A prompt was typed into the agent's terminal: the agent reports the outcome itself."""


DELIVERED = _Delivered()


class Orchestrator:
    def __init__(self, config: OrchestratorConfig, client: AsyncClient) -> None:
        self.cfg = config
        self.client = client
        self.agent_id = f"orchestrator:{config.id}"
        self.store = StateFile(config.state_dir, config.id)
        self.procs = Supervisor(
            tmux=Supervisor.find_tmux(config.use_tmux), tmux_socket=config.tmux_socket, base_env=clean_env(os.environ)
        )
        self.adapters: dict[str, Adapter] = {
            p: adapter_named(config.adapters.get(p, DEFAULT_ADAPTER[p])) for p in config.providers
        }
        self.agents = AgentManager(
            config, client, self.store, self.procs, self.adapters, self._report_agents, self._settle_delivered
        )
        self.api_token = secrets.token_urlsafe(32)
        self.ready = asyncio.Event()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._wake = asyncio.Event()
        self._work: set[asyncio.Task[None]] = set()
        self._api_socket = (
            directories.bind(config.api_host, config.api_port) if config.api_port is not None else None
        )

    @property
    def api_url(self) -> str | None:
        if self._api_socket is None:
            return None
        if self.cfg.api_url:
            return self.cfg.api_url
        port = self._api_socket.getsockname()[1]
        host = f"[{self.cfg.api_host}]" if ":" in self.cfg.api_host else self.cfg.api_host
        return f"http://{host}:{port}"

    # -- the whole life ----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        loops: list[asyncio.Task[None]] = []
        try:
            await self._register()
            await self.agents.adopt()
            await self._resume()
            loops = [
                asyncio.create_task(self._heartbeats(), name="heartbeats"),
                asyncio.create_task(self._monitor(), name="monitor"),
                asyncio.create_task(self._events(), name="events"),
                asyncio.create_task(self._poll(), name="poll"),
            ]
            if self._api_socket is not None:
                loops.append(
                    asyncio.create_task(
                        directories.serve(self._api_socket, str(self.cfg.base_dir), self.api_token), name="api"
                    )
                )
            self.ready.set()
            log.info(
                "orchestrator %s on %s: %s agent(s) adopted, processes in %s, providers %s",
                self.cfg.id, self.client.url, len(self.agents.running()), self.procs.mode,
                ", ".join(f"{p}={a.name}" for p, a in self.adapters.items()),
            )
            done, _ = await asyncio.wait(
                [asyncio.create_task(stop.wait()), *loops], return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                if task in loops and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            for task in loops:
                task.cancel()
            for task in loops:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await self._drain()
            self.store.save()
            self.store.close()
            if self._api_socket is not None:
                self._api_socket.close()

    async def _drain(self) -> None:
        """Let commands being carried out finish (bounded); what is left resumes at the next start."""
        if self._work:
            _, pending = await asyncio.wait(self._work, timeout=DRAIN_S)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    # -- registration and heartbeats ---------------------------------------------------------------

    async def _register(self) -> None:
        delay = 0.5
        while True:
            try:
                await self.client.orchestrators.register(
                    self.cfg.id,
                    self.cfg.hostname,
                    providers=list(self.cfg.providers),
                    base_dir=str(self.cfg.base_dir),
                    version=version(),
                    protocol_version=PROTOCOL_VERSION,
                    api_url=self.api_url,
                    api_token=self.api_token if self.api_url else None,
                    meta={
                        "runner": "relay orchestrator",
                        "processes": self.procs.mode,
                        "adapters": {p: a.name for p, a in self.adapters.items()},
                    },
                )
                return
            except RelayError as exc:
                if not (exc.unreachable or exc.status in (429, 502, 503, 504)):
                    raise
                log.warning("cannot register with %s yet: %s", self.client.url, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.heartbeat_s)
            try:
                await self.client.orchestrators.heartbeat(
                    self.cfg.id, version=version(), protocol_version=PROTOCOL_VERSION
                )
            except RelayError as exc:
                if exc.status == 404:
                    log.warning("the relay forgot orchestrator %s: registering again", self.cfg.id)
                    await self._register()
                    await self._report_agents()
                else:
                    log.warning("heartbeat failed: %s", exc)
                    continue
            for record in self.agents.running():
                try:
                    await self.client.agents.heartbeat(record.id)
                except RelayError as exc:
                    if exc.status == 404:
                        with contextlib.suppress(RelayError):
                            await self.agents.register_card(record)
                    else:
                        log.warning("heartbeat of %s failed: %s", record.id, exc)

    async def _report_agents(self) -> None:
        """`PATCH /api/orchestrators/:id/agents`: what runs here, for the dashboard."""
        listed = [
            {
                "agentId": a.id,
                "provider": a.provider,
                "adapter": a.adapter,
                "status": a.status,
                "pid": a.pid,
                "session": a.session,
                "cwd": a.cwd,
                "label": a.label,
                "startedAt": a.started_at,
            }
            for a in self.agents.agents.values()
        ]
        try:
            await self.client.orchestrators.set_agents(self.cfg.id, listed)
        except RelayError as exc:
            log.warning("could not report managed agents: %s", exc)

    # -- watching processes ------------------------------------------------------------------------

    async def _monitor(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.monitor_s)
            self.procs.reap()
            for record in self.agents.running():
                if self.agents.lock(record.id).locked() or self.procs.alive(record):
                    continue
                try:
                    await self.agents.exited(record)
                except Exception:
                    log.exception("reporting the exit of %s failed", record.id)

    # -- intake ------------------------------------------------------------------------------------

    def _targets(self) -> list[str]:
        return [self.agent_id, *self.agents.agents]

    def _ours(self, command: Command) -> bool:
        if command.target == self.agent_id:
            return True
        record = self.agents.agents.get(command.target)
        if record is None:
            return False
        if command.type in CONTROL_TYPES:
            return True
        return command.type in PROMPT_TYPES and self.adapters[record.provider].delivers_prompts

    def _consider(self, command: Command) -> None:
        if command.status != "pending" or command.id in self._seen or not self._ours(command):
            return
        self._mark_seen(command.id)
        self._spawn(self._handle(command), name=f"command {command.id}")

    def _mark_seen(self, command_id: str) -> None:
        self._seen[command_id] = None
        while len(self._seen) > SEEN_MAX:
            self._seen.popitem(last=False)

    async def _events(self) -> None:
        while True:
            stream = self.client.events(types=["command.requested"])
            try:
                await stream.connect()
                self._wake.set()  # read the queues once now that nothing new can slip past
                reconnects = stream.reconnects
                async for event in stream:
                    if stream.reconnects != reconnects:
                        reconnects = stream.reconnects
                        self._wake.set()
                    raw = event.data.get("command") if isinstance(event.data, dict) else None
                    if isinstance(raw, dict):
                        try:
                            self._consider(msgspec.convert(raw, Command))
                        except msgspec.ValidationError:
                            continue
            except RelayError as exc:
                log.warning("event stream unavailable (%s); polling every %.1f s", exc, self.cfg.poll_s)
                await asyncio.sleep(max(self.cfg.poll_s, 5.0))
            finally:
                await stream.aclose()

    async def _poll(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.cfg.poll_s)
            self._wake.clear()
            for target in self._targets():
                try:
                    pending = await self.client.commands.list(target=target, status="pending", limit=100)
                except RelayError as exc:
                    log.warning("polling commands for %s failed: %s", target, exc)
                    break
                for command in pending:
                    self._consider(command)
            await self._settle_delivered()

    # -- carrying commands out ---------------------------------------------------------------------

    async def _handle(self, command: Command) -> None:
        if command.target == self.agent_id and command.type not in ORCHESTRATOR_TYPES:
            await self._report(command.id, "rejected", error=f"orchestrator {self.cfg.id} does not run {command.type}")
            return
        try:
            await self.client.commands.accept(command.id)
        except RelayError as exc:
            if exc.status not in (404, 409):
                self._seen.pop(command.id, None)  # try again at the next poll
                log.warning("could not accept %s: %s", command.id, exc)
            return
        await self._carry_out(command)

    async def _carry_out(self, command: Command) -> None:
        taken = TakenCommand(id=command.id, type=command.type, target=command.target)
        self.store.state.commands[command.id] = taken
        self.store.save()
        try:
            outcome = await self._execute(command)
        except CommandFailed as exc:
            await self._report(command.id, "failed", error=str(exc))
            return
        except RelayError as exc:
            await self._report(command.id, "failed", error=f"the relay refused a step: {exc}")
            return
        except Exception as exc:
            log.exception("command %s (%s) failed", command.id, command.type)
            await self._report(command.id, "failed", error=f"{type(exc).__name__}: {exc}")
            return
        if outcome is DELIVERED:
            taken.phase = "delivered"
            self.store.save()
            return
        assert isinstance(outcome, dict)
        ok = await self._report(command.id, "succeeded", result=outcome)
        if not ok and command.type == "agent.spawn":
            # Canceled or timed out while we spawned (a recipe stopped): nobody wants this agent.
            agent_id = outcome.get("agentId")
            if isinstance(agent_id, str) and agent_id in self.agents.agents:
                log.info("spawn %s ended meanwhile: shutting %s down again", command.id, agent_id)
                await self.agents.shutdown(agent_id, requested_by=f"orchestrator:{self.cfg.id}")

    async def _execute(self, command: Command) -> dict[str, Any] | _Delivered:
        params = command.params or {}
        kind = command.type
        if kind in PROMPT_TYPES:
            record = self.agents.require(command.target)
            via = await self.agents.deliver(record, command)
            log.info("typed %s %s into %s via %s", kind, command.id, record.id, via)
            return DELIVERED
        await self.client.commands.start(command.id)
        if kind == "agent.spawn":
            return await self.agents.spawn(command)
        if kind == "provider.test":
            return await self.agents.test_provider(command)
        if kind not in CONTROL_TYPES:
            raise CommandFailed(f"orchestrator {self.cfg.id} does not run {kind}")
        # agent.restart / agent.shutdown: the target agent, `params.agentId`, or every agent here.
        named = params.get("agentId") if command.target == self.agent_id else command.target
        if named is not None and not isinstance(named, str):
            raise CommandFailed("agentId must be a string")
        ids = [named] if named else [a.id for a in self.agents.agents.values()]
        results = []
        for agent_id in ids:
            if kind == "agent.restart":
                results.append(await self.agents.restart(agent_id))
            else:
                results.append(await self.agents.shutdown(agent_id, str(params.get("requestedBy") or "api")))
        return results[0] if named else {"agents": results}

    async def _report(
        self, command_id: str, status: str, *, result: dict[str, Any] | None = None, error: str | None = None
    ) -> bool:
        """Send the outcome, retrying while the relay is unreachable. False when the command had
        already ended otherwise (canceled, timed out)."""
        taken = self.store.state.commands.get(command_id) or TakenCommand(id=command_id, type="", target="")
        taken.phase, taken.status, taken.result, taken.error = "done", status, result, error
        self.store.state.commands[command_id] = taken
        self.store.save()
        delay = 0.2
        try:
            while True:
                try:
                    await self.client.commands.update(command_id, status=status, result=result, error=error)
                    return True
                except RelayError as exc:
                    if exc.status in (404, 409):
                        return await self._ended_as(command_id, status)
                    if not (exc.unreachable or exc.status in (429, 500, 502, 503, 504)):
                        log.warning("report of %s refused: %s", command_id, exc)
                        return False
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, REPORT_BACKOFF_MAX_S)
        finally:
            self.store.state.commands.pop(command_id, None)
            self.store.save()

    async def _ended_as(self, command_id: str, status: str) -> bool:
        """A 409 on reporting: our report landed before (its answer was lost), or the command ended otherwise."""
        try:
            current = await self.client.commands.get(command_id)
        except RelayError:
            return False
        return current.status == status

    async def _settle_delivered(self, agent_id: str | None = None, why: str | None = None) -> None:
        """Forget typed prompts the agent has answered; with `why`, fail the ones `agent_id` never will."""
        for taken in list(self.store.state.commands.values()):
            if taken.phase != "delivered" or (agent_id is not None and taken.target != agent_id):
                continue
            try:
                current = await self.client.commands.get(taken.id)
            except RelayError as exc:
                if exc.status != 404:
                    continue
                current = None
            if current is None or current.final:
                self.store.state.commands.pop(taken.id, None)
                self.store.save()
            elif why is not None:
                await self._report(taken.id, "failed", error=why)

    # -- after a restart ---------------------------------------------------------------------------

    async def _resume(self) -> None:
        for taken in list(self.store.state.commands.values()):
            if taken.phase == "done" and taken.status:
                self._mark_seen(taken.id)
                self._spawn(
                    self._resend(taken.id, taken.status, taken.result, taken.error), name=f"report {taken.id}"
                )
        for target in self._targets():
            for status in ("accepted", "running"):
                try:
                    commands = await self.client.commands.list(target=target, status=status, limit=100)
                except RelayError as exc:
                    log.warning("could not list %s commands of %s: %s", status, target, exc)
                    continue
                for command in commands:
                    if command.id in self._seen or not self._ours(command):
                        continue
                    if command.target == self.agent_id and command.type not in ORCHESTRATOR_TYPES:
                        continue  # never accepted by us (we reject those): someone else's to finish
                    earlier = self.store.state.commands.get(command.id)
                    self._mark_seen(command.id)
                    if command.type in PROMPT_TYPES and earlier is not None and earlier.phase == "delivered":
                        continue  # typed before we stopped: the agent answers it
                    log.info("resuming %s %s (was %s)", command.type, command.id, command.status)
                    self._spawn(self._carry_out(command), name=f"command {command.id}")

    async def _resend(self, command_id: str, status: str, result: dict[str, Any] | None, error: str | None) -> None:
        if status in COMMAND_FINAL_STATUSES:
            await self._report(command_id, status, result=result, error=error)

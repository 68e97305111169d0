"""The agents one orchestrator runs: spawn, restart, shut down, notice an exit, deliver a prompt, test a provider.

Each operation on one agent holds that agent's lock, so a shutdown never races a restart or the
exit watcher. Every step that matters after a crash is written to the state file first (see
state.py). Card, token and process follow one order:

- spawn: card (`meta.runnerManaged`, `meta.orchestratorId`) → agent token (minted with the
  orchestrator's own token, `tokens:delegate`) → process → card again with the pid.
- stop (shutdown, restart, exit): process gone → token revoked → card `offline` with an activity
  entry saying how it ended (shutdown and exit; a restart brings the card straight back).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from relay_client import AsyncClient, RelayError
from relay_client.models import Command, ProviderConfig
from relay_client.orchestrator.adapters import Adapter, LaunchContext
from relay_client.orchestrator.adapters.base import RELAY_ENV
from relay_client.orchestrator.config import OrchestratorConfig, agent_env, clean_env
from relay_client.orchestrator.procs import ProcessError, Started, Supervisor, describe_exit
from relay_client.orchestrator.state import AgentRecord, StateFile, safe_name

log = logging.getLogger("relay.orchestrator")

MAX_AGENT_ID = 240
VERSION_TIMEOUT_S = 10.0
# Typing into a TUI the moment its MCP server is up can beat its input handling: wait this long
# after the start as well.
SETTLE_S = 2.0


class CommandFailed(Exception):
    """The command cannot be carried out; the text becomes the command's `error`."""


def _now_ms() -> int:
    return int(time.time() * 1000)


class AgentManager:
    def __init__(
        self,
        config: OrchestratorConfig,
        client: AsyncClient,
        store: StateFile,
        procs: Supervisor,
        adapters: dict[str, Adapter],
        on_change: Callable[[], Awaitable[None]],
        on_gone: Callable[[str, str], Awaitable[None]],
    ) -> None:
        self.cfg = config
        self.client = client
        self.store = store
        self.procs = procs
        self.adapters = adapters
        self.on_change = on_change
        # (agent id, why): the process that had prompts typed into it is gone.
        self.on_gone = on_gone
        self.locks: dict[str, asyncio.Lock] = {}

    @property
    def agents(self) -> dict[str, AgentRecord]:
        return self.store.state.agents

    def lock(self, agent_id: str) -> asyncio.Lock:
        return self.locks.setdefault(agent_id, asyncio.Lock())

    def running(self) -> list[AgentRecord]:
        return [a for a in self.agents.values() if a.status == "running"]

    def require(self, agent_id: str) -> AgentRecord:
        record = self.agents.get(agent_id)
        if record is None:
            raise CommandFailed(f'agent "{agent_id}" is not managed by orchestrator {self.cfg.id}')
        return record

    def agent_dir(self, record: AgentRecord) -> Path:
        return self.store.agent_dir(record.id)

    # -- spawn -------------------------------------------------------------------------------------

    def resolve_cwd(self, raw: Any) -> str:
        base = os.path.realpath(self.cfg.base_dir)
        if raw is not None and not isinstance(raw, str):
            raise CommandFailed("cwd must be a string")
        real = os.path.realpath(os.path.join(base, raw) if raw else base)
        if real != base and not real.startswith(base.rstrip(os.sep) + os.sep):
            raise CommandFailed(f"cwd {raw} is outside the orchestrator base directory {base}")
        if not os.path.isdir(real):
            raise CommandFailed(f"cwd {raw} is not a directory on {self.cfg.hostname}")
        return real

    async def spawn(self, command: Command) -> dict[str, Any]:
        params = command.params or {}
        provider = params.get("provider")
        if provider not in self.cfg.providers:
            raise CommandFailed(f"provider {provider} is not offered by orchestrator {self.cfg.id}")
        cwd = self.resolve_cwd(params.get("cwd"))
        agent_id = params.get("agentId") or f"{provider}-{self.cfg.id}-{secrets.token_hex(3)}"
        if not isinstance(agent_id, str) or "/" in agent_id or len(agent_id) > MAX_AGENT_ID:
            raise CommandFailed("agentId must be text of at most 240 characters without /")
        approval = params.get("approvalMode") or None
        async with self.lock(agent_id):
            existing = self.agents.get(agent_id)
            if existing is not None and existing.status != "exited" and self.procs.alive(existing):
                if existing.spawn_command_id == command.id:
                    return self.result(existing)  # this very spawn, finished before a restart
                raise CommandFailed(f'agent "{agent_id}" is already running on orchestrator {self.cfg.id}')
            await self._check_card_free(agent_id)
            config = await self.client.providers.get(provider, reveal_env=True)
            adapter = self.adapters[provider]
            capabilities = params.get("capabilities")
            record = AgentRecord(
                id=agent_id,
                provider=provider,
                adapter=adapter.name,
                cwd=cwd,
                label=params.get("label") if isinstance(params.get("label"), str) else None,
                approval_mode=approval if isinstance(approval, str) else config.default_approval_mode,
                capabilities=[str(c) for c in capabilities] if isinstance(capabilities, list) else [],
                prompt=params.get("prompt") if isinstance(params.get("prompt"), str) else None,
                mode="tmux" if self.procs.tmux else "child",
                session=f"{config.headless.tmux_prefix}{safe_name(agent_id)}" if self.procs.tmux else None,
                tmux_socket=self.procs.tmux_socket,
                shutdown_timeout_ms=config.headless.shutdown_timeout_ms,
                spawn_command_id=command.id,
            )
            if existing is not None and existing.token_jti:
                await self._revoke(existing)
            self.agents[agent_id] = record
            self.store.save()
            await self._start(record, config)
            return self.result(record)

    async def _check_card_free(self, agent_id: str) -> None:
        try:
            card = await self.client.agents.get(agent_id)
        except RelayError as exc:
            if exc.status == 404:
                return
            raise
        if card.orchestrator_id != self.cfg.id:
            owner = f"orchestrator {card.orchestrator_id}" if card.orchestrator_id else "no orchestrator"
            raise CommandFailed(f'agent "{agent_id}" already exists and is managed by {owner}')

    def result(self, record: AgentRecord) -> dict[str, Any]:
        out: dict[str, Any] = {"agentId": record.id, "pid": record.pid, "provider": record.provider}
        if record.session:
            out["session"] = record.session
        if record.log_path:
            out["log"] = record.log_path
        return out

    async def register_card(self, record: AgentRecord, *, launch: bool = False) -> None:
        """The card as the record describes it. `launch`: with the launch session (a new process of
        the agent starts now). Also how a card the relay lost (a wiped Redis) comes back."""
        await self.client.agents.register(
            record.id,
            name=record.label or record.id,
            kind="provider",
            status="online",
            label=record.label,
            tags=record.tags,
            capabilities=record.capabilities,
            meta={
                "runnerManaged": True,
                "orchestratorId": self.cfg.id,
                "provider": record.provider,
                "adapter": record.adapter,
                "approvalMode": record.approval_mode,
                "session": record.session,
                "spawnCommandId": record.spawn_command_id,
            },
            provider=record.provider,
            cwd=record.cwd,
            host=self.cfg.hostname,
            pid=record.pid,
            orchestrator_id=self.cfg.id,
            session_id=record.launch_session if launch else None,
            session_started_at=record.launch_started_at if launch else None,
        )

    async def _start(self, record: AgentRecord, config: ProviderConfig) -> None:
        """Card, token, process (the record is saved `starting` first, so a crash is cleaned up).
        When a step fails nothing is left half done: the token is revoked, the card `offline`."""
        record.status, record.pid, record.exit = "starting", None, None
        record.launch_session, record.launch_started_at = "orchestrator-" + secrets.token_hex(6), _now_ms()
        record.tags = list(config.default_tags)
        record.capabilities = record.capabilities or list(config.default_capabilities)
        await self.register_card(record, launch=True)
        try:
            started = await self._launch(record, config)
        except BaseException as exc:
            record.status = "exited"
            self.store.save()
            with contextlib.suppress(RelayError):
                await self._revoke(record)
            with contextlib.suppress(RelayError):
                await self.client.agents.set_status(record.id, "offline")
            self.store.save()
            if isinstance(exc, ProcessError):
                raise CommandFailed(f"could not start {record.provider} agent {record.id}: {exc}") from exc
            raise
        record.pid, record.pid_start, record.launcher_pid = started.pid, started.pid_start, started.launcher_pid
        record.session, record.log_path = started.session, started.log_path
        record.status, record.started_at = "running", _now_ms()
        self.store.save()
        where = f", tmux session {record.session}" if record.session else f", log {record.log_path}"
        log.info("started %s agent %s (pid %s%s)", record.provider, record.id, record.pid, where)
        with contextlib.suppress(RelayError):
            await self.register_card(record)  # now with its pid
        await self.on_change()

    async def _launch(self, record: AgentRecord, config: ProviderConfig) -> Started:
        issued = await self.client.tokens.create(
            "agent", sub=record.id, ttl_seconds=self.cfg.agent_token_ttl_s, created_by=f"orchestrator:{self.cfg.id}"
        )
        record.token_jti = issued.jti
        self.store.save()
        agent_dir = self.agent_dir(record)
        relay_env = dict(zip(RELAY_ENV, (self.client.url, issued.token, record.id), strict=True))
        launch = self.adapters[record.provider].launch(
            LaunchContext(
                agent_id=record.id,
                command=config.command,
                default_args=list(config.default_args),
                cwd=record.cwd,
                approval_mode=record.approval_mode,
                prompt=record.prompt,
                agent_dir=agent_dir,
                mcp_argv=[*self.cfg.mcp_argv, "--agent-id", record.id],
                relay_env=relay_env,
            )
        )
        for path, content in launch.files.items():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(content)
        return await self.procs.start(
            agent_dir,
            session=record.session or safe_name(record.id),
            argv=launch.argv,
            env=agent_env(config.env, launch.env, relay_env),
            cwd=record.cwd,
        )

    # -- stop, restart, shutdown -------------------------------------------------------------------

    async def _revoke(self, record: AgentRecord) -> None:
        jti, record.token_jti = record.token_jti, None
        if not jti:
            return
        try:
            await self.client.tokens.revoke(jti)
        except RelayError as exc:
            if exc.status != 404:  # already revoked
                record.token_jti = jti
                self.store.save()
                raise

    async def _stop(self, record: AgentRecord) -> dict[str, Any] | None:
        timeout_s = (record.shutdown_timeout_ms or 10_000) / 1000
        info = await self.procs.stop(record, self.agent_dir(record), timeout_s)
        record.status, record.exit = "exited", info
        self.store.save()
        await self._revoke(record)
        self.store.save()
        return info

    async def shutdown(self, agent_id: str, requested_by: str) -> dict[str, Any]:
        async with self.lock(agent_id):
            record = self.require(agent_id)
            was_running = record.status != "exited" and self.procs.alive(record)
            info = await self._stop(record)
            how = describe_exit(info) if was_running else "was not running"
            await self._offline(record, "Agent shut down", how, {"requestedBy": requested_by, **(info or {})})
            del self.agents[agent_id]
            self.store.save()
            _tidy(self.agent_dir(record))
        await self.on_gone(agent_id, "the agent was shut down before it answered")
        await self.on_change()
        return {"agentId": agent_id, "stopped": was_running, "exit": how}

    async def restart(self, agent_id: str) -> dict[str, Any]:
        async with self.lock(agent_id):
            record = self.require(agent_id)
            info = await self._stop(record)
            await self.on_gone(agent_id, "the agent was restarted before it answered")
            config = await self.client.providers.get(record.provider, reveal_env=True)
            await self._start(record, config)
            await self._activity(record, "Agent restarted", f"pid {record.pid}", {"previousExit": info})
            return self.result(record)

    async def _offline(self, record: AgentRecord, title: str, body: str, metadata: dict[str, Any]) -> None:
        try:
            await self.client.agents.set_status(record.id, "offline")
        except RelayError as exc:
            log.warning("could not mark %s offline: %s", record.id, exc)
        await self._activity(record, title, body, metadata)

    async def _activity(self, record: AgentRecord, title: str, body: str, metadata: dict[str, Any]) -> None:
        try:
            await self.client.activity.post(
                title,
                kind="state",
                body=body,
                meta=record.id,
                icon="ti-power" if "exit" in title or "shut" in title else "ti-refresh",
                view="agents",
                agent_id=record.id,
                metadata={"orchestratorId": self.cfg.id, "pid": record.pid, "provider": record.provider, **metadata},
                client_id=f"orchestrator-{self.cfg.id}-{record.id}-{title}-{record.pid}-{_now_ms()}",
            )
        except RelayError as exc:
            log.warning("could not record %r for %s: %s", title, record.id, exc)

    async def exited(self, record: AgentRecord) -> None:
        """The process ended by itself: card offline at once, how it ended in the activity feed."""
        async with self.lock(record.id):
            if record.status != "running" or self.procs.alive(record):
                return
            agent_dir = self.agent_dir(record)
            info = await self.procs.exit_info(agent_dir)
            record.status, record.exit = "exited", info
            self.store.save()
            how = describe_exit(info)
            log.info("agent %s %s", record.id, how)
            await self._offline(record, "Agent exited", how, dict(info or {}))
            await self.procs.stop(record, agent_dir, 0)  # whatever it left in its group or session
            with contextlib.suppress(RelayError):
                await self._revoke(record)
            self.store.save()
        await self.on_gone(record.id, f"the agent {how} before it answered")
        await self.on_change()

    async def adopt(self) -> None:
        """On start: keep what still runs, report what ended while we were away, clean half-starts."""
        for record in list(self.agents.values()):
            if record.status == "exited":
                continue
            if record.status == "starting" and record.pid is None:
                info = self.procs.read_pid(self.agent_dir(record))
                if info is not None:
                    record.pid, record.pid_start = info.get("pid"), info.get("startTime")
                    record.launcher_pid = info.get("launcherPid")
            if self.procs.alive(record):
                record.status = "running"
                log.info("adopted agent %s (pid %s)", record.id, record.pid)
            elif record.status == "running":
                await self.exited(record)
            else:
                # Started half-way when we stopped: its spawn command is still ours and will redo it.
                await self.procs.forget(record)
                with contextlib.suppress(RelayError):
                    await self._revoke(record)
                record.status = "exited"
        self.store.save()
        await self.on_change()

    # -- prompts and provider tests ----------------------------------------------------------------

    async def deliver(self, record: AgentRecord, command: Command) -> str:
        """Type an `agent.prompt` / `task.create` into the agent's terminal (accepted → running)."""
        if record.status != "running" or not self.procs.alive(record):
            raise CommandFailed(f'agent "{record.id}" is not running')
        await self._await_ready(record)
        adapter = self.adapters[record.provider]
        await self.client.commands.start(command.id)
        try:
            return await self.procs.type_text(record, self.agent_dir(record), adapter.prompt_text(command))
        except ProcessError as exc:
            raise CommandFailed(f"could not deliver the prompt to {record.id}: {exc}") from exc

    async def _await_ready(self, record: AgentRecord) -> None:
        """A TUI agent is ready once its `relay mcp` has taken over its card (a session newer than the
        one registered at launch), and a moment has passed; after `ready_timeout_s` it gets the prompt
        anyway."""
        started = record.started_at or 0
        deadline = time.monotonic() + self.cfg.ready_timeout_s
        while time.monotonic() < deadline and self.procs.alive(record):
            try:
                card = await self.client.agents.get(record.id)
            except RelayError:
                card = None
            if card is not None and card.session_id and card.session_id != record.launch_session:
                break
            await asyncio.sleep(0.25)
        settle = started / 1000 + SETTLE_S - time.time()
        if settle > 0:
            await asyncio.sleep(settle)

    async def test_provider(self, command: Command) -> dict[str, Any]:
        params = command.params or {}
        provider = params.get("provider")
        name = params.get("command")
        if not isinstance(name, str) or not name:
            if provider not in ("claude", "codex"):
                raise CommandFailed("provider.test needs a provider or a command")
            name = (await self.client.providers.get(provider)).command
        path = shutil.which(name, path=clean_env(os.environ).get("PATH"))
        if path is None:
            return {"ok": False, "path": "", "error": f"{name}: command not found on {self.cfg.hostname}"}
        version, error = await _version_of(path)
        return {"ok": True, "path": path, "version": version, "error": error, "host": self.cfg.hostname}


def _tidy(agent_dir: Path) -> None:
    """After a shutdown: drop what the agent's run left (its MCP config holds its token) but its log."""
    for path in agent_dir.iterdir():
        if path.name != "output.log":
            path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        agent_dir.rmdir()  # gone unless a log is kept


async def _version_of(path: str) -> tuple[str | None, str]:
    try:
        proc = await asyncio.create_subprocess_exec(
            path, "--version", stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, env=clean_env(os.environ),
        )
    except OSError as exc:
        return None, f"could not run {path} --version: {exc}"
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), VERSION_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return None, f"{path} --version did not answer within {VERSION_TIMEOUT_S:.0f} s"
    lines = out.decode(errors="replace").strip().splitlines()
    if proc.returncode != 0:
        return None, f"{path} --version exited with code {proc.returncode}: {' '.join(lines)[:300]}"
    return (lines[0].strip()[:200] if lines else ""), ""

"""A small stand-in for `relay orchestrator`, used by the dashboard's browser tests until the real
host daemon exists (issue 13). It speaks only the public API, with an orchestrator token:

- registers orchestrator `--id` with its `--provider`s, `--base-dir`, a version and an `apiUrl`
  (its own tiny HTTP server answering `GET /api/directories?path=`, which the relay proxies for the
  dashboard's directory picker), and heartbeats it and the agents it manages;
- follows the pending commands addressed to its own agent card (`orchestrator:<id>`) and to every
  agent it manages, and moves each accepted → running → succeeded with a result:
  `agent.spawn` registers the new agent's card (`params.agentId`, else `<label or provider>-<n>`;
  `orchestratorId` = this orchestrator, `meta.runnerManaged: true`) and answers `{agentId}`;
  `agent.prompt` and `task.create` are acknowledged; `agent.shutdown` marks the agent offline and
  drops it; `agent.restart` re-registers it; anything else is `failed` ("unsupported command").

No process is started. Run: `python -m tests.orchestrator_stub --id ID --base-dir DIR --provider
claude` with `AGENT_RELAY_URL` and `AGENT_RELAY_TOKEN` set; it prints `ready` once registered.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

import httpx

POLL_S = 0.15
HEARTBEAT_S = 3.0


def directory_server(base: Path) -> ThreadingHTTPServer:
    """`GET /api/directories?path=` over `base`, in the shape of the relay's own host directories."""
    real_base = base.resolve()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path != "/api/directories":
                self._send(404, {"error": "not found"})
                return
            raw = parse_qs(url.query).get("path", [""])[0]
            target = (real_base / raw).resolve() if raw else real_base
            if target != real_base and real_base not in target.parents:
                self._send(400, {"error": "path is outside the base directory"})
                return
            if not target.is_dir():
                self._send(404, {"error": "directory not found"})
                return
            dirs = sorted(p for p in target.iterdir() if p.is_dir() and not p.name.startswith("."))
            self._send(
                200,
                {
                    "base": str(real_base),
                    "path": str(target),
                    "parent": str(target.parent) if target != real_base else None,
                    "directories": [{"name": d.name, "path": str(d)} for d in dirs],
                    "truncated": False,
                },
            )

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class StubOrchestrator:
    def __init__(self, url: str, token: str, orch_id: str, providers: list[str], base_dir: Path) -> None:
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=5.0)
        self.id = orch_id
        self.agent_card = f"orchestrator:{orch_id}"
        self.providers = providers
        self.base_dir = base_dir
        self.managed: dict[str, dict[str, Any]] = {}
        self.spawned = 0
        self.server = directory_server(base_dir)
        self.running = True

    def register(self) -> None:
        host, port = self.server.server_address[:2]
        body = {
            "id": self.id,
            "hostname": "stub-host",
            "providers": self.providers,
            "baseDir": str(self.base_dir),
            "version": "stub-1",
            "protocolVersion": 1,
            "apiUrl": f"http://{host}:{port}",
        }
        self.http.post("/api/orchestrators", json=body).raise_for_status()

    def heartbeat(self) -> None:
        self.http.post(f"/api/orchestrators/{quote(self.id, safe='')}/heartbeat", json={})
        for agent_id in list(self.managed):
            self.http.post(f"/api/agents/{quote(agent_id, safe='')}/heartbeat", json={})

    def report(self, command_id: str, status: str, **fields: Any) -> None:
        self.http.patch(f"/api/commands/{quote(command_id, safe='')}", json={"status": status, **fields})

    def _register_agent(self, agent_id: str, params: dict[str, Any]) -> None:
        card = {
            "id": agent_id,
            "name": params.get("label") or agent_id,
            "kind": "provider",
            "provider": params.get("provider"),
            "cwd": params.get("cwd") or str(self.base_dir),
            "orchestratorId": self.id,
            "capabilities": params.get("capabilities") or [],
            "meta": {"runnerManaged": True, "orchestratorId": self.id, "approvalMode": params.get("approvalMode")},
        }
        if params.get("label"):
            card["label"] = params["label"]
        self.http.post("/api/agents", json=card).raise_for_status()
        self.managed[agent_id] = params
        self._publish_managed()

    def _publish_managed(self) -> None:
        agents = [{"id": a, "provider": p.get("provider")} for a, p in self.managed.items()]
        self.http.patch(f"/api/orchestrators/{quote(self.id, safe='')}/agents", json={"agents": agents})

    def execute(self, command: dict[str, Any]) -> None:
        cid, ctype, params = command["id"], command["type"], command.get("params") or {}
        self.report(cid, "accepted")
        self.report(cid, "running")
        if ctype == "agent.spawn":
            self.spawned += 1
            agent_id = params.get("agentId") or f"{params.get('label') or params.get('provider')}-{self.spawned}"
            self._register_agent(agent_id, params)
            self.report(cid, "succeeded", result={"agentId": agent_id, "orchestratorId": self.id})
        elif ctype in ("agent.prompt", "task.create"):
            self.report(cid, "succeeded", result={"delivered": True, "agentId": command["target"]})
        elif ctype == "agent.shutdown":
            agent_id = params.get("agentId") or command["target"]
            targets = [agent_id] if agent_id != self.agent_card else list(self.managed)
            for target in targets:
                self.http.patch(f"/api/agents/{quote(target, safe='')}/status", json={"status": "offline"})
                self.managed.pop(target, None)
            self._publish_managed()
            self.report(cid, "succeeded", result={"stopped": targets})
        elif ctype == "agent.restart":
            agent_id = params.get("agentId") or command["target"]
            targets = [agent_id] if agent_id != self.agent_card else list(self.managed)
            for target in targets:
                if target in self.managed:
                    self._register_agent(target, self.managed[target])
            self.report(cid, "succeeded", result={"restarted": targets})
        else:
            self.report(cid, "failed", error=f"unsupported command {ctype}")

    def poll_once(self) -> None:
        for target in [self.agent_card, *self.managed]:
            res = self.http.get("/api/commands", params={"target": target, "status": "pending", "limit": 50})
            if res.status_code != 200:
                continue
            for command in res.json():
                try:
                    self.execute(command)
                except httpx.HTTPError as exc:
                    print(f"command {command['id']} failed: {exc}", file=sys.stderr, flush=True)

    def run(self) -> None:
        self.register()
        print("ready", flush=True)
        last_beat = time.monotonic()
        while self.running:
            try:
                self.poll_once()
                if time.monotonic() - last_beat > HEARTBEAT_S:
                    self.heartbeat()
                    last_beat = time.monotonic()
            except httpx.HTTPError as exc:
                # The relay may be restarting under us (the dashboard tests do that): try again.
                print(f"relay unreachable: {exc}", file=sys.stderr, flush=True)
            time.sleep(POLL_S)
        self.server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--id", required=True)
    parser.add_argument("--base-dir", required=True, type=Path)
    parser.add_argument("--provider", action="append", dest="providers")
    args = parser.parse_args()
    stub = StubOrchestrator(
        os.environ["AGENT_RELAY_URL"], os.environ["AGENT_RELAY_TOKEN"], args.id, args.providers or ["claude"], args.base_dir
    )

    def stop(*_: Any) -> None:
        stub.running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    stub.run()


if __name__ == "__main__":
    main()

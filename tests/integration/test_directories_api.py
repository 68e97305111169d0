"""Directory pickers: the orchestrator proxy (against real local HTTP servers) and the host listing."""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from relay_model.agents import directories
from relay_model.relay import Relay, reap_once
from relay_model.settings import Settings
from tests.conftest import AUTH


class _Handler(BaseHTTPRequestHandler):
    mode = "ok"

    def do_GET(self) -> None:
        if self.mode == "slow":
            time.sleep(2.0)
        if self.mode == "redirect":
            self.send_response(302)
            self.send_header("Location", "http://example.com/")
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")
            return
        if self.mode == "html":
            body = b"<html>nope</html>"
        elif self.mode == "big":
            body = json.dumps({"x": "y" * (2 * 1024 * 1024)}).encode()
        else:
            body = json.dumps({"path": self.path, "directories": [{"name": "src"}]}).encode()
        self.send_response({"missing": 404, "status999": 999}.get(self.mode, 200))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def upstream(mode: str) -> Iterator[str]:
    handler = type("H", (_Handler,), {"mode": mode})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def _orch(client: AsyncTestClient, api_url: str | None, oid: str = "o1") -> None:  # type: ignore[type-arg]
    body = {"id": oid, "hostname": "h"} | ({"apiUrl": api_url} if api_url else {})
    assert (await client.post("/api/orchestrators", json=body)).status_code in (200, 201)


async def test_proxy_passes_path_and_body_through(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    with upstream("ok") as url:
        await _orch(client, url + "/")
        r = await client.get("/api/orchestrators/o1/directories", params={"path": "/home/me/my dir&x"})
        assert r.status_code == 200
        assert r.json() == {
            "path": "/api/directories?path=%2Fhome%2Fme%2Fmy%20dir%26x",
            "directories": [{"name": "src"}],
        }
        assert (await client.get("/api/orchestrators/o1/directories")).json()["path"] == "/api/directories"
    with upstream("missing") as url:
        await _orch(client, url)
        assert (await client.get("/api/orchestrators/o1/directories")).status_code == 404


async def test_proxy_refusals(client: AsyncTestClient, relay: Relay) -> None:  # type: ignore[type-arg]
    r = await client.get("/api/orchestrators/nope/directories")
    assert (r.status_code, r.json()) == (404, {"error": "orchestrator not found"})
    await _orch(client, None)
    r = await client.get("/api/orchestrators/o1/directories")
    assert (r.status_code, r.json()) == (422, {"error": "orchestrator does not expose an API"})
    await _orch(client, "http://127.0.0.1:9", oid="o2")
    orch = (await client.get("/api/orchestrators/o2")).json()
    await reap_once(relay, now=orch["lastSeen"] + int(relay.settings.stale_after_s * 1000), audit=False)
    r = await client.get("/api/orchestrators/o2/directories")
    assert (r.status_code, r.json()) == (422, {"error": "orchestrator is offline"})


@pytest.mark.parametrize(
    ("mode", "detail"),
    [
        ("slow", "timed out after 0.5s"),
        ("redirect", "redirect refused (HTTP 302)"),
        ("html", "upstream answered with invalid JSON"),
        ("big", "response larger than 1048576 bytes"),
    ],
)
async def test_proxy_failures_are_502(
    client: AsyncTestClient,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    detail: str,
) -> None:
    if mode == "slow":
        # Only the slow upstream needs a short timeout; the others keep the real one, so a loaded
        # machine cannot turn their answer into a timeout. The text shows which limit fired.
        monkeypatch.setattr(directories, "PROXY_TIMEOUT_S", 0.5)
    with upstream(mode) as url:
        await _orch(client, url)
        r = await client.get("/api/orchestrators/o1/directories")
        assert (r.status_code, r.json()) == (502, {"error": f"Failed to reach orchestrator API: {detail}"})


async def test_proxy_unreachable_is_502(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    from relay_api.embedded import free_port

    await _orch(client, f"http://127.0.0.1:{free_port()}")
    r = await client.get("/api/orchestrators/o1/directories")
    assert r.status_code == 502 and r.json()["error"].startswith("Failed to reach orchestrator API: ")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    base = tmp_path / "base"
    (base / "src" / "relay").mkdir(parents=True)
    (base / "docs").mkdir()
    (base / ".git").mkdir()
    (base / "notes.txt").write_text("x")
    outside = tmp_path / "secret"
    (outside / "keys").mkdir(parents=True)
    (base / "escape").symlink_to(outside)
    (base / "src" / "up").symlink_to(tmp_path)
    return base


@pytest.fixture
async def host_client(redis: object, settings: Settings, tree: Path) -> AsyncTestClient:  # type: ignore[type-arg, misc]
    from relay_api.app import create_app

    async with AsyncTestClient(create_app(dataclasses.replace(settings, host_base_dir=str(tree)))) as c:
        c.headers.update(AUTH)
        yield c


async def test_host_directories_lists_real_subdirectories(host_client: AsyncTestClient, tree: Path) -> None:  # type: ignore[type-arg]
    base = os.path.realpath(tree)
    r = await host_client.get("/api/host/directories")
    assert r.status_code == 200
    assert r.json() == {
        "base": base,
        "path": base,
        "parent": None,
        "directories": [{"name": "docs", "path": f"{base}/docs"}, {"name": "src", "path": f"{base}/src"}],
        "truncated": False,
    }
    r = await host_client.get("/api/host/directories", params={"path": "src"})
    assert r.json()["directories"] == [{"name": "relay", "path": f"{base}/src/relay"}]
    assert r.json()["parent"] == base
    r = await host_client.get("/api/host/directories", params={"path": f"{base}/src/relay/../relay"})
    assert r.json()["path"] == f"{base}/src/relay"


@pytest.mark.parametrize(
    "path",
    ["..", "../..", "src/../..", "/etc", "/", "escape", "escape/keys", "src/up", "src/up/secret", "%2e%2e"],
)
async def test_host_directories_never_escape(host_client: AsyncTestClient, path: str) -> None:  # type: ignore[type-arg]
    r = await host_client.get("/api/host/directories", params={"path": path})
    if path == "%2e%2e":  # a literal directory name, not a traversal: simply absent
        assert (r.status_code, r.json()) == (404, {"error": "directory not found"})
        return
    assert (r.status_code, r.json()) == (400, {"error": "path is outside the host base directory"})


async def test_host_directories_missing_or_file(host_client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    assert (await host_client.get("/api/host/directories", params={"path": "nope"})).json() == {
        "error": "directory not found"
    }
    assert (await host_client.get("/api/host/directories", params={"path": "notes.txt"})).status_code == 404
    r = await host_client.get("/api/host/directories", params={"path": "src\x00"})
    assert (r.status_code, r.json()) == (404, {"error": "directory not found"})

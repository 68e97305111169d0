"""The dashboard in a real browser, against a real relay.

One relay for the whole package: its own redis-server, two `relay serve` nodes behind a TCP load
balancer (tests/lb.py, ordered failover: node A while it is up), one `relay worker`, a callback
receiver for an integration, and the real `relay orchestrator` (tests/orchestrator/conftest.py:
`Host`) whose providers run the echo agent, so a spawn or a recipe started in the page runs real
agent processes. One Chromium per test module: Debian's `/usr/bin/chromium` driven by Playwright
(never `playwright install`), headless, with a fresh profile.

Every page fails its test on a JavaScript error, an `alert()`/`confirm()` dialog, or a request to
any other origin than the relay's. Screenshots go to tests/artifacts/screenshots/ (git-ignored).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from relay_api.embedded import EmbeddedRedis
from relay_client import Client
from tests.conftest import ADMIN_TOKEN, AUTH
from tests.lb import LoadBalancer
from tests.orchestrator.conftest import ECHO, Host
from tests.procs import ROOT, ApiNode, Worker, relay_env
from tests.receiver import Receiver, callback_receiver
from tests.tools import require_tool

CHROMIUM = os.environ.get("RELAY_TEST_CHROMIUM") or require_tool("chromium", module_level=True)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"
ORCHESTRATOR_ID = "devbox"
INTEGRATION_TOKEN = "tracker-token-0123456789abcdef"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


def wait_until(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Stack:
    url: str  # the load balancer: what the browser opens
    node_a: ApiNode
    node_b: ApiNode
    lb: LoadBalancer
    worker: Worker
    host: Host  # the real `relay orchestrator` ORCHESTRATOR_ID and the directory it runs agents under
    receiver: Receiver
    env: dict[str, str]
    tmp: Path
    api: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        # The test's own client goes to node B directly, so it keeps working while A restarts.
        self.api = httpx.Client(base_url=self.node_b.url, headers=AUTH, timeout=10.0)

    @property
    def base_dir(self) -> Path:
        return self.host.base

    def restart_node_a(self) -> None:
        self.node_a.stop()
        self.node_a = ApiNode(self.env, self.tmp / f"api-a-{time.monotonic_ns()}.log", port=self.node_a.port).wait_ready()


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("dashboard")
    base_dir = tmp / "host" / "base"
    for sub in ("projects/alpha/src", "projects/beta", "notes"):
        (base_dir / sub).mkdir(parents=True)
    with contextlib.ExitStack() as started:
        redis = EmbeddedRedis(tmp / "redis", persistent=False).start()
        started.callback(redis.stop)
        receiver = started.enter_context(callback_receiver())
        integrations = [
            {
                "name": "tracker",
                "token": INTEGRATION_TOKEN,
                "scopes": ["tasks:write"],
                "callbackUrl": receiver.url + "/hook",
                "secret": "tracker-signing-secret",
            }
        ]
        env = relay_env(
            redis.url,
            ADMIN_TOKEN,
            AGENT_RELAY_TOKEN_SECRET="dashboard-test-signing-secret-0123456789",
            AGENT_RELAY_SSE_KEEPALIVE_S="2",
            AGENT_RELAY_HOST_BASE_DIR=str(base_dir),
            AGENT_RELAY_INTEGRATIONS=json.dumps(integrations),
            AGENT_RELAY_REAP_INTERVAL_S="1",
        )
        # Both nodes and the worker start side by side; the waits come after.
        node_a = ApiNode(env, tmp / "api-a.log")
        node_b = ApiNode(env, tmp / "api-b.log")
        started.callback(node_b.stop)
        worker = Worker(env, tmp / "worker.log")
        started.callback(worker.stop)
        started.callback(node_a.stop)
        node_a.wait_ready()
        node_b.wait_ready()
        lb = started.enter_context(LoadBalancer([node_a.port, node_b.port], failover=True))
        # The real `relay orchestrator` (agents as child processes, no tmux) talking to node B, which no
        # test restarts; both providers run the echo agent, which answers its own prompts over the API.
        admin = started.enter_context(Client(node_b.url, ADMIN_TOKEN))
        for provider in ("claude", "codex"):
            admin.providers.put(provider, {"command": ECHO[0], "defaultArgs": [*ECHO[1:], "--commands", "api"]})
        host = Host(tmp / "host", node_b.url, admin, ORCHESTRATOR_ID)
        started.callback(host.cleanup)
        host.start("--no-tmux", "--adapter", "claude=command", "--adapter", "codex=command", "--api-port", "0")
        s = Stack(url=lb.url, node_a=node_a, node_b=node_b, lb=lb, worker=worker, host=host, receiver=receiver, env=env, tmp=tmp)
        started.callback(s.api.close)
        started.callback(lambda: s.node_a.stop())  # restarts replace node A: stop whichever is current
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="relay-chromium-")
    try:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, viewport=DESKTOP
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@dataclass
class PageWatch:
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)


@pytest.fixture
def page(browser: Any, stack: Stack) -> Iterator[Any]:
    """A fresh tab on the relay; fails the test on page errors, JS dialogs or foreign requests."""
    pg = browser.new_page()
    pg.set_viewport_size(DESKTOP)
    watch = PageWatch()
    origin = stack.url

    def on_request(req: Any) -> None:
        if not (req.url.startswith(origin + "/") or req.url.startswith(("data:", "blob:"))):
            watch.foreign.append(req.url)

    def on_dialog(dlg: Any) -> None:
        watch.dialogs.append(f"{dlg.type}: {dlg.message}")
        dlg.dismiss()

    pg.on("pageerror", lambda err: watch.errors.append(str(err)))
    pg.on("console", lambda msg: watch.errors.append(msg.text) if msg.type == "error" and "Failed to load resource" not in msg.text else None)
    pg.on("request", on_request)
    pg.on("dialog", on_dialog)
    pg.watch = watch
    try:
        yield pg
        assert watch.errors == [], watch.errors
        assert watch.dialogs == [], f"the page used a JS dialog: {watch.dialogs}"
        assert watch.foreign == [], f"requests left the relay's origin: {watch.foreign}"
    finally:
        pg.close()


def login(page: Any, stack: Stack, token: str = ADMIN_TOKEN, view: str = "agents") -> None:
    """Sign in through the form, as a person would, and wait until the stream is live."""
    page.goto(stack.url + f"/#/{view}")
    page.evaluate("localStorage.clear(); sessionStorage.clear()")
    page.reload()
    page.fill("#login-token", token)
    page.press("#login-token", "Enter")
    page.wait_for_selector("#stream-status.live", timeout=15000)


def shot(page: Any, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def api_json(stack: Stack, method: str, path: str, **kwargs: Any) -> Any:
    res = stack.api.request(method, path, **kwargs)
    assert res.status_code < 400, (method, path, res.status_code, res.text)
    return res.json()


def register_agent(stack: Stack, agent_id: str, **fields: Any) -> dict[str, Any]:
    return api_json(stack, "POST", "/api/agents", json={"id": agent_id, **fields})


def integration_event(stack: Stack, **body: Any) -> httpx.Response:
    return httpx.post(
        stack.node_b.url + "/api/integrations/events", headers={"Authorization": f"Bearer {INTEGRATION_TOKEN}"}, json=body
    )


"""The console as an installable app and an accessible page: manifest, icons, service worker
(shell only, never /api), offline shell, no other host, the schema page offline, the keyboard."""

from __future__ import annotations

import re
import struct
from typing import Any

import httpx

from relay_api.app import STATIC_DIR
from tests.conftest import ADMIN_TOKEN
from tests.dashboard.conftest import PHONE, Stack, login, shot
from tests.waiting import wait_until

VIEW_IDS = [
    "agents", "orchestrators", "messages", "tasks", "commands", "recipes", "automations",
    "channels", "pairs", "integrations", "tokens", "activity", "events", "system", "api",
]


def sw_shell() -> list[str]:
    text = (STATIC_DIR / "sw.js").read_text()
    block = re.search(r"const SHELL = \[(.*?)\];", text, re.S)
    assert block
    return re.findall(r'"(/[^"]*)"', block.group(1))


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_shell_list_names_every_static_file() -> None:
    on_disk = {"/" + str(p.relative_to(STATIC_DIR)) for p in STATIC_DIR.rglob("*") if p.is_file()} - {"/sw.js"}
    shell = set(sw_shell())
    assert on_disk - shell == set(), "a static file the offline shell would miss"
    assert shell - on_disk == {"/"}, "the shell names a file that does not exist"
    assert not any(p.startswith(("/api", "/schema")) for p in shell)


def test_manifest_and_icons_make_an_installable_app(page: Any, stack: Stack) -> None:
    manifest = httpx.get(stack.url + "/manifest.webmanifest").json()
    assert manifest["name"] == "Agent Relay" and manifest["short_name"] == "Relay"
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == ("/", "/", "standalone")
    sizes = {}
    for icon in manifest["icons"]:
        res = httpx.get(stack.url + icon["src"])
        assert res.status_code == 200, icon
        if icon["type"] == "image/png":
            w, h = png_size(res.content)
            assert icon["sizes"] == f"{w}x{h}", icon
            sizes[(w, icon["purpose"])] = True
    assert {(192, "any"), (512, "any"), (512, "maskable")} <= set(sizes)
    login(page, stack)
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=15000)
    cdp = page.context.new_cdp_session(page)
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert errors == [], errors
    parsed = cdp.send("Page.getAppManifest")
    assert parsed["errors"] == [] and parsed["url"].endswith("/manifest.webmanifest")


def test_the_service_worker_caches_the_shell_only_and_serves_it_offline(page: Any, stack: Stack) -> None:
    login(page, stack)
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=15000)
    # Browse views that load data: none of it may land in a cache.
    for view in ("agents", "messages", "commands", "tokens", "api"):
        page.goto(stack.url + f"/#/{view}")
        page.wait_for_selector(f"#view-{view}:not([hidden])")
    page.wait_for_selector("#view-api .op")
    cached = page.evaluate(
        """async () => {
          const out = [];
          for (const name of await caches.keys()) {
            for (const req of await (await caches.open(name)).keys()) out.push(new URL(req.url).pathname);
          }
          return out;
        }"""
    )
    assert set(cached) == set(sw_shell()), sorted(set(cached) ^ set(sw_shell()))
    assert not [p for p in cached if p.startswith(("/api", "/schema"))]
    # Offline, the shell still opens and says why it cannot sign in.
    page.context.set_offline(True)
    try:
        page.reload()
        assert page.wait_for_selector("#login-error:not([hidden])").inner_text() == "the relay cannot be reached (network error)"
        shot(page, "offline-shell")
    finally:
        page.context.set_offline(False)
    # Back online, the stored token signs in again by itself.
    page.reload()
    page.wait_for_selector("#stream-status.live")


def test_no_request_goes_to_another_host_on_any_view(page: Any, stack: Stack) -> None:
    login(page, stack)
    for view in VIEW_IDS:
        page.goto(stack.url + f"/#/{view}")
        page.wait_for_selector(f"#view-{view}:not([hidden])")
    page.goto(stack.url + "/schema")
    page.wait_for_selector(".op")
    assert page.watch.foreign == []  # the fixture fails the test on any, this says so here too
    requested = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert all(u.startswith(stack.url + "/") for u in requested), requested
    # Nor do the files name one (the SVG namespace is an identifier, not a request).
    for path in STATIC_DIR.rglob("*"):
        if path.suffix in {".html", ".js", ".css", ".webmanifest"}:
            urls = re.findall(r"https?://[^\s\"'`)]+", path.read_text())
            assert urls == [], (path, urls)


def test_the_schema_page_renders_and_tries_requests_with_no_network(page: Any, stack: Stack) -> None:
    login(page, stack)  # the page reuses the signed-in token for its try-it forms
    blocked: list[str] = []

    def only_this_server(route: Any) -> None:
        if route.request.url.startswith(stack.url + "/"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    for path in ("/schema", "/schema/swagger"):
        page.goto(stack.url + path)
        page.wait_for_selector(".op-group")
    ops = page.eval_on_selector_all(".op", "els => els.map(e => e.dataset.op)")
    schema = httpx.get(stack.url + "/schema/openapi.json").json()
    expected = {f"{m.upper()} {p}" for p, item in schema["paths"].items() for m in item if m in ("get", "post", "put", "patch", "delete")}
    assert set(ops) == expected
    op = page.locator('.op[data-op="GET /api/automations/schedule/preview"]')
    op.locator("summary").click()
    text = op.inner_text()
    for param in ("cron", "timezone", "count", "after"):
        assert param in text
    op.locator("input[data-param=cron]").fill("0 9 * * 1-5")
    op.locator("input[data-param=count]").fill("3")
    op.locator("button:has-text('Send request')").click()
    out = op.locator(".try-out")
    out.locator("strong", has_text="200 OK").wait_for()
    assert '"runs"' in out.inner_text()
    # A request schema is rendered from its component: the automation body names its fields.
    create = page.locator('.op[data-op="POST /api/automations"]')
    create.locator("summary").click()
    body = create.inner_text()
    assert "trigger" in body and "action" in body
    shot(page, "schema-page-offline")
    assert blocked == []


def test_a_keyboard_alone_signs_in_and_works_the_console(page: Any, stack: Stack) -> None:
    page.goto(stack.url + "/")
    page.evaluate("localStorage.clear(); sessionStorage.clear()")
    page.reload()
    page.wait_for_selector("#login-token:focus")
    page.keyboard.type(ADMIN_TOKEN)
    page.keyboard.press("Enter")
    page.wait_for_selector("#stream-status.live")

    def tab_to(predicate: str, limit: int = 80) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(predicate):
                return
        raise AssertionError(f"Tab never reached {predicate}")

    tab_to("document.activeElement.dataset.view === 'messages'")
    page.keyboard.press("Enter")
    page.wait_for_selector("#view-messages:not([hidden])")
    page.goto(stack.url + "/#/agents")
    page.wait_for_selector("#view-agents:not([hidden])")
    page.evaluate("document.activeElement.blur()")
    tab_to("document.activeElement.textContent === 'Spawn agent'")
    page.keyboard.press("Enter")
    page.wait_for_selector("dialog[open]")
    assert page.evaluate("document.querySelector('dialog').contains(document.activeElement)")
    page.keyboard.press("Escape")
    page.wait_for_selector("dialog", state="detached")
    # Every control is a native one a keyboard reaches; nothing is a click-only <div>.
    assert page.evaluate("[...document.querySelectorAll('[tabindex]')].filter(e => e.tabIndex < 0 && e.id !== 'main').length") == 0
    # At phone width the menu opens from the keyboard and moves focus into it.
    page.set_viewport_size(PHONE)
    page.focus("#menu-toggle")
    page.keyboard.press("Enter")
    page.wait_for_selector("#nav.open")
    assert page.evaluate("document.getElementById('nav').contains(document.activeElement)")
    page.keyboard.press("Escape")
    wait_until(lambda: not page.is_visible("#nav"), "the menu to close")


def test_the_viewer_role_sees_no_write_control_anywhere(page: Any, stack: Stack) -> None:
    token = httpx.post(stack.node_b.url + "/api/tokens", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, json={"role": "viewer", "sub": "wall-screen"}).json()["token"]
    login(page, stack, token=token)
    write_words = re.compile(r"^(Spawn|Edit|Delete|Restart|Shut down|Send|Reply|Claim|Release|Mark|New |Run now|Disable|Enable|Stop|Start|Bind|Unbind|Invite|Accept|Reject|End|Revoke|Create|Broadcast|Run the reaper|Cancel|Set status|Register)")
    for view in VIEW_IDS:
        if view in ("tokens", "api"):
            continue
        page.goto(stack.url + f"/#/{view}")
        page.wait_for_selector(f"#view-{view}:not([hidden])")
        labels = page.eval_on_selector_all(
            f"#view-{view} button, #view-{view} a.button",
            "els => els.filter(e => e.offsetParent !== null).map(e => e.textContent.trim())",
        )
        offered = [label for label in labels if write_words.match(label)]
        assert offered == [], (view, offered)
    assert page.query_selector('#nav a[data-view="tokens"]') is None


"""What an operator does at the console, in Chromium, against real relay processes: sign in, watch
agents arrive, talk to them, steer them, run recipes and automations, manage tokens, and keep
watching while the API node under the page restarts."""

from __future__ import annotations

import itertools
import json
import re
import threading
from datetime import datetime
from typing import Any

import httpx

from tests.conftest import ADMIN_TOKEN, AUTH
from tests.dashboard.conftest import ORCHESTRATOR_ID, Stack, api_json, login, register_agent, shot
from tests.waiting import wait_until


def test_sign_in_shows_the_servers_refusal_inline_then_opens_the_console(page: Any, stack: Stack) -> None:
    page.goto(stack.url + "/")
    page.evaluate("localStorage.clear(); sessionStorage.clear()")
    page.reload()
    page.fill("#login-token", "not-a-token")
    page.press("#login-token", "Enter")
    page.wait_for_selector("#login-error:not([hidden])")
    assert page.inner_text("#login-error") == "invalid token"
    assert page.is_hidden("#shell")
    shot(page, "login-error")
    page.fill("#login-token", ADMIN_TOKEN)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#stream-status.live")
    assert page.inner_text("#whoami") == "admin"  # role and subject are the same: said once
    # Logging out forgets the token: a reload asks for one again.
    page.click("#logout")
    page.wait_for_selector("#login:not([hidden])")
    assert page.evaluate("localStorage.getItem('relayToken')") is None
    page.reload()
    page.wait_for_selector("#login:not([hidden])")


def test_an_agent_appears_live_when_it_registers_and_its_status_follows(page: Any, stack: Stack) -> None:
    login(page, stack, view="agents")
    assert page.query_selector('tr[data-agent="live-1"]') is None
    register_agent(stack, "live-1", name="Live One", tags=["blue"], capabilities=["code"])
    # By selector, not element handle: a live update may re-render the row between two calls.
    page.wait_for_selector('tr[data-agent="live-1"]')
    cell = page.inner_text('tr[data-agent="live-1"] td[data-label=Agent]')
    assert cell.count("Live One") == 1 and cell.count("live-1") == 1
    # A name that only differs in case from the id is not printed twice.
    register_agent(stack, "carol", name="Carol")
    page.wait_for_selector('tr[data-agent="carol"] td[data-label=Agent]')
    carol = page.inner_text('tr[data-agent="carol"] td[data-label=Agent]')
    assert carol.lower().count("carol") == 1
    api_json(stack, "PATCH", "/api/agents/live-1/status", json={"status": "busy"})
    page.wait_for_selector('tr[data-agent="live-1"] .badge.status-busy')
    # Search filters the table as you type.
    page.fill("input[aria-label='Search agents']", "blue")
    wait_until(lambda: page.eval_on_selector_all("#view-agents tbody tr[data-agent]", "rows => rows.map(r => r.dataset.agent)") == ["live-1"], "search")


def test_send_reply_thread_and_claim_in_an_inbox(page: Any, stack: Stack) -> None:
    register_agent(stack, "bob", name="Bob")
    login(page, stack, view="messages?agent=user")
    page.wait_for_selector("text=Read cursor of user")
    page.fill("#view-messages input[name=to]", "bob")
    page.fill("#view-messages textarea[name=body]", "hello bob")
    page.click("#view-messages form.compose button[type=submit]")
    note = page.wait_for_selector("#view-messages .compose .note:has-text('Sent #')").inner_text()
    first_id = int(re.search(r"#(\d+)", note).group(1))  # type: ignore[union-attr]
    sent = api_json(stack, "GET", f"/api/messages/{first_id}")
    assert (sent["from"], sent["to"], sent["body"]) == ("user", "bob", "hello bob")

    # Bob answers (over the API); replyTo routes it to the parent's sender, and it shows up live.
    reply = api_json(stack, "POST", "/api/messages", json={"from": "bob", "replyTo": first_id, "body": "hi user"})
    # By selector, not element handle: the live inbox re-renders its cards as events arrive.
    card = f'article[data-message="{reply["id"]}"]'
    page.wait_for_selector(card)
    assert "unread" in page.inner_text(card)
    page.click(f"{card} button:has-text('Reply')")
    page.wait_for_selector("#view-messages .reply-chip:has-text('Replying to #')")
    page.fill("#view-messages textarea[name=body]", "thanks bob")
    page.click("#view-messages form.compose button[type=submit]")
    page.wait_for_selector("#view-messages .compose .note:has-text('Sent #')")
    ours = wait_until(lambda: [m for m in api_json(stack, "GET", "/api/messages", params={"from": "user", "limit": 10}) if m["body"] == "thanks bob"], "the reply")[0]
    assert ours["replyTo"] == reply["id"] and ours["to"] == "bob" and ours["threadId"] == first_id

    # The thread dialog shows the three messages in order.
    page.click(f'article[data-message="{reply["id"]}"] button:has-text("Thread")')
    thread = page.wait_for_selector("dialog .thread:has-text('thanks bob')")
    text = thread.inner_text()
    assert text.index("hello bob") < text.index("hi user") < text.index("thanks bob")
    shot(page, "messages-thread-dialog")
    page.keyboard.press("Escape")
    page.wait_for_selector("dialog", state="detached")

    # Claim state and holder: claim a claimable message as the inbox's agent, then release it.
    claimable = api_json(stack, "POST", "/api/messages", json={"from": "bob", "to": "user", "body": "who takes this?", "claimable": True})
    sel = f'article[data-message="{claimable["id"]}"]'
    page.wait_for_selector(f"{sel}:has-text('claimable · unclaimed')")
    page.click(f"{sel} button:has-text('Claim as user')")
    page.wait_for_selector(f"{sel}:has-text('claimed by user')")
    assert api_json(stack, "GET", f"/api/messages/{claimable['id']}")["claimedBy"] == "user"
    page.click(f"{sel} button:has-text('Release')")
    page.wait_for_selector(f"{sel}:has-text('claimable · unclaimed')")
    # Mark all read moves the cursor to the latest message.
    page.click("button:has-text('Mark all read')")
    page.wait_for_selector("text=0 unread")
    cursor = api_json(stack, "GET", "/api/messages/cursor", params={"agentId": "user"})
    assert cursor["cursor"] == cursor["latestId"]


def test_errors_are_shown_inline_with_the_servers_text(page: Any, stack: Stack) -> None:
    register_agent(stack, "gone")
    api_json(stack, "PATCH", "/api/agents/gone/status", json={"status": "offline"})
    login(page, stack, view="messages")
    page.fill("#view-messages input[name=to]", "gone")
    page.fill("#view-messages textarea[name=body]", "are you there?")
    page.click("#view-messages form.compose button[type=submit]")
    err = page.wait_for_selector("#view-messages form.compose .error:not([hidden])")
    assert err.inner_text() == 'agent "gone" is offline'
    shot(page, "messages-inline-error")


def test_edit_label_and_tags(page: Any, stack: Stack) -> None:
    register_agent(stack, "dora", tags=["old"])
    login(page, stack, view="agents")
    page.click('tr[data-agent="dora"] button[aria-label="Edit dora"]')
    page.wait_for_selector("dialog[open]")
    page.fill("dialog input[name=label]", "reviewer")
    page.fill("dialog input[name=tags]", "alpha, beta")
    shot(page, "agents-edit-dialog")
    page.click("dialog button[type=submit]")
    page.wait_for_selector("dialog", state="detached")
    page.wait_for_selector('tr[data-agent="dora"] .tags:has-text("beta")')
    agent = api_json(stack, "GET", "/api/agents/dora")
    assert agent["tags"] == ["alpha", "beta"] and agent["label"] == "reviewer"
    row = page.inner_text('tr[data-agent="dora"]')
    assert "reviewer" in row and "old" not in row


def test_spawn_through_the_orchestrator_and_watch_the_command_succeed(page: Any, stack: Stack) -> None:
    login(page, stack, view="agents")
    page.click("button:has-text('Spawn agent')")
    page.wait_for_selector("dialog[open]")
    page.select_option("dialog select[name=orchestrator]", ORCHESTRATOR_ID)
    page.select_option("dialog select[name=provider]", "claude")
    # The directory picker browses the orchestrator's host through the relay's proxy.
    page.click("dialog button:has-text('Browse…')")
    page.click("dialog .dir-list button:has-text('projects')")
    page.click("dialog .dir-list button:has-text('alpha')")
    page.wait_for_selector("dialog .dir-list button:has-text('src')")
    shot(page, "agents-spawn-dialog")
    page.click("dialog button:has-text('Use this directory')")
    alpha = str((stack.base_dir / "projects" / "alpha").resolve())
    assert page.input_value("dialog input[name=cwd]") == alpha
    page.select_option("dialog select[name=approvalMode]", "read-only")
    page.fill("dialog input[name=label]", "spawned-ui")
    page.fill("dialog input[name=tags]", "ui, spawned")
    page.fill("dialog textarea[name=prompt]", "Say hello")
    page.click("dialog button[type=submit]")
    page.wait_for_selector('dialog [data-status="succeeded"]', timeout=15000)
    page.wait_for_selector("dialog .note:has-text('Tags set on')")
    shot(page, "agents-spawn-succeeded")
    command_id = page.inner_text("dialog .progress a.mono")
    command = api_json(stack, "GET", f"/api/commands/{command_id}")
    assert command["status"] == "succeeded" and command["type"] == "agent.spawn"
    assert command["params"]["cwd"] == alpha and command["params"]["approvalMode"] == "read-only"
    assert command["params"]["prompt"] == "Say hello"
    agent = api_json(stack, "GET", f"/api/agents/{command['result']['agentId']}")
    assert agent["orchestratorId"] == ORCHESTRATOR_ID and agent["label"] == "spawned-ui"
    assert agent["tags"] == ["ui", "spawned"]
    page.click("dialog button:has-text('Close')")
    # The agents view has the new agent, with the controls a runner-managed agent offers.
    page.wait_for_selector(f'tr[data-agent="{agent["id"]}"] button:has-text("Restart")')
    # And the commands view shows the command as succeeded.
    page.goto(stack.url + f"/#/commands/{command_id}")
    page.wait_for_selector(f'tr[data-command="{command_id}"] [data-status="succeeded"]')


def test_a_late_answer_to_the_dialogs_first_read_does_not_take_a_spawn_back(page: Any, stack: Stack) -> None:
    """The spawn dialog reads its new command once (it may have moved on before the stream's
    subscription started) and follows the stream. On a loaded node that read can come back after the
    stream said `succeeded`; the dialog must stay `succeeded`, not fall back to the older status for
    good (that stalled the spawn test under load until its timeout)."""
    held: list[Any] = []
    page.route(
        re.compile(r"/api/commands/[^/?]+$"),
        lambda route: held.append(route) if route.request.method == "GET" and not held else route.continue_(),
    )
    login(page, stack, view="agents")
    page.click("button:has-text('Spawn agent')")
    page.wait_for_selector("dialog[open]")
    page.select_option("dialog select[name=orchestrator]", ORCHESTRATOR_ID)
    page.select_option("dialog select[name=provider]", "codex")
    page.click("dialog button[type=submit]")
    page.wait_for_selector('dialog .progress [data-status="succeeded"]')  # from the stream: the read is held
    assert len(held) == 1
    command = api_json(stack, "GET", f"/api/commands/{page.inner_text('dialog .progress a.mono')}")
    assert command["status"] == "succeeded"
    # Mark when the page has handled the held read's answer: after its text() resolves and the
    # microtasks that hand it to the dialog have run.
    page.evaluate(
        """() => {
          const text = Response.prototype.text;
          Response.prototype.text = async function () {
            const body = await text.call(this);
            if (/\\/api\\/commands\\/[^/?]+$/.test(new URL(this.url).pathname)) setTimeout(() => { window.lateReadHandled = true; });
            return body;
          };
        }"""
    )
    stale = {**command, "status": "accepted", "result": None, "updatedAt": command["createdAt"]}
    held[0].fulfill(status=200, content_type="application/json", body=json.dumps(stale))
    page.wait_for_function("window.lateReadHandled === true")
    assert page.get_attribute("dialog .progress [data-status]", "data-status") == "succeeded"
    page.click("dialog button:has-text('Close')")


def test_start_a_recipe_and_watch_its_steps_advance(page: Any, stack: Stack) -> None:
    login(page, stack, view="recipes")
    page.click("button[aria-label='Start debug']")
    page.wait_for_selector("dialog[open]")
    # Fill every parameter the dialog marks required (whatever the recipe declares today).
    for name in page.eval_on_selector_all("dialog input[data-param][required]", "els => els.map(e => e.name)"):
        page.fill(f"dialog input[name='{name}']", f"{name} from the browser test")
    page.select_option("dialog select[name=orchestratorId]", ORCHESTRATOR_ID)
    shot(page, "recipes-start-dialog")
    page.click("dialog button[type=submit]")
    page.wait_for_selector("section.instance")
    # Record every state each step shows, as the page changes it.
    page.evaluate(
        """() => {
          window.stepLog = {};
          const note = () => document.querySelectorAll('section.instance [data-step]').forEach((el) => {
            const log = (window.stepLog[el.dataset.step] ||= []);
            if (log[log.length - 1] !== el.dataset.status) log.push(el.dataset.status);
          });
          note();
          new MutationObserver(note).observe(document.getElementById('view-recipes'), {subtree: true, childList: true, attributes: true});
        }"""
    )
    page.wait_for_selector('section.instance[data-status="succeeded"]', timeout=30000)
    log = page.evaluate("window.stepLog")
    instance_id = page.get_attribute("section.instance", "data-instance")
    instance = api_json(stack, "GET", f"/api/recipes/instances/{instance_id}")
    assert instance["status"] == "succeeded"
    assert set(log) == {s["id"] for s in instance["steps"]}
    for step in instance["steps"]:
        assert log[step["id"]][-1] == "succeeded", (step["id"], log[step["id"]])
    # The last step was shown waiting before it was shown succeeded: the page followed it live.
    last = instance["steps"][-1]["id"]
    assert log[last][0] == "waiting" and len(log[last]) >= 2, log[last]
    shot(page, "recipes-instance-succeeded")


def test_create_an_automation_with_a_server_preview_and_see_its_runs(page: Any, stack: Stack) -> None:
    register_agent(stack, "oncall")
    login(page, stack, view="automations")
    page.click("button:has-text('New automation')")
    page.wait_for_selector("dialog[open]")
    page.fill("dialog input[name=name]", "ping oncall")
    page.fill("dialog input[name=cron]", "every minute")
    page.wait_for_selector("dialog .preview .error:has-text('cron must have 5 fields, or 6 with seconds first')")
    page.fill("dialog input[name=cron]", "*/2 * * * * *")
    page.fill("dialog input[name=timezone]", "Europe/Berlin")
    runs = page.wait_for_selector("dialog .preview-runs")
    stamps = [datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() for t in runs.eval_on_selector_all("time", "els => els.map(e => e.getAttribute('datetime'))")]
    assert len(stamps) == 5 and all(b - a == 2 for a, b in itertools.pairwise(stamps))
    page.fill("dialog input[aria-label='Message to']", "oncall")
    page.fill("dialog textarea[aria-label='Message body']", "ping")
    shot(page, "automations-editor")
    page.click("dialog button[type=submit]")
    page.wait_for_selector("dialog", state="detached")
    auto = wait_until(lambda: [a for a in api_json(stack, "GET", "/api/automations") if a["name"] == "ping oncall"], "the automation")[0]
    assert auto["trigger"] == {"type": "schedule", "cron": "*/2 * * * * *", "timezone": "Europe/Berlin"}
    row = f'tr[data-automation="{auto["id"]}"]'
    page.wait_for_selector(row)
    # The worker fires the schedule; the run shows up live in the history.
    page.wait_for_selector("#view-automations tr[data-run]:has-text('ping oncall'):has-text('schedule') .badge.status-succeeded", timeout=20000)
    page.click(f"{row} button:has-text('Run now')")
    page.wait_for_selector("#view-automations tr[data-run]:has-text('ping oncall'):has-text('manual')")
    runs = api_json(stack, "GET", "/api/automation-runs", params={"automationId": auto["id"]})
    assert {"schedule", "manual"} <= {r["trigger"] for r in runs}
    page.click(f"{row} button:has-text('Disable')")
    page.wait_for_selector(f"{row} .badge.state-disabled")
    assert api_json(stack, "GET", f"/api/automations/{auto['id']}")["enabled"] is False
    shot(page, "automations-with-runs")


def test_mint_use_and_revoke_a_token(page: Any, stack: Stack, browser: Any) -> None:
    login(page, stack, view="tokens")
    page.select_option("#view-tokens select[name=role]", "viewer")
    page.fill("#view-tokens input[name=sub]", "ci-viewer")
    page.select_option("#view-tokens select[name=ttl]", "3600")
    page.click("#view-tokens button[type=submit]")
    secret = page.wait_for_selector(".secret-box input.secret").input_value()
    assert page.is_visible("text=it is shown only once")
    shot(page, "tokens-secret-shown-once")
    who = httpx.get(stack.node_b.url + "/api/whoami", headers={"Authorization": f"Bearer {secret}"}).json()
    assert who["role"] == "viewer" and who["sub"] == "ci-viewer" and "agents:write" not in who["scopes"]
    jti = who["jti"]
    record = api_json(stack, "GET", f"/api/tokens/{jti}")
    assert record["expiresAt"] - record["createdAt"] <= 3600 * 1000 + 1000

    # Signed in as that viewer, the console offers no action the role may not take.
    viewer = browser.new_page()
    try:
        login(viewer, stack, token=secret, view="agents")
        assert viewer.inner_text("#whoami") == "ci-viewer · viewer"
        viewer.wait_for_selector("#view-agents tr[data-agent]")
        nav = viewer.eval_on_selector_all("#nav a", "els => els.map(e => e.dataset.view)")
        assert "tokens" not in nav and "agents" in nav
        for selector in ["button:has-text('Spawn agent')", "#view-agents button:has-text('Edit')", "#view-agents button:has-text('Delete')"]:
            assert viewer.query_selector(selector) is None, selector
        viewer.goto(stack.url + "/#/messages")
        viewer.wait_for_selector("#view-messages:not([hidden])")
        assert viewer.is_hidden("#view-messages form.compose")
        viewer.goto(stack.url + "/#/automations")
        viewer.wait_for_selector("#view-automations:not([hidden])")
        assert viewer.query_selector("button:has-text('New automation')") is None
        assert viewer.query_selector("#view-automations button:has-text('Run now')") is None
        shot(viewer, "viewer-automations-read-only")
    finally:
        viewer.close()

    page.click(f'tr[data-jti="{jti}"] button:has-text("Revoke")')
    page.click("dialog button.danger:has-text('Revoke')")
    page.wait_for_selector(f'tr[data-jti="{jti}"][data-state="revoked"]')
    refused = httpx.get(stack.node_b.url + "/api/whoami", headers={"Authorization": f"Bearer {secret}"})
    assert (refused.status_code, refused.json()) == (401, {"error": "token revoked"})


class StreamReader(threading.Thread):
    """An independent SSE reader straight on one node, in a thread (the page's API is not thread-safe)."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.connected = threading.Event()
        self.stop = False

    def run(self) -> None:
        with httpx.Client(timeout=httpx.Timeout(30.0)) as client, client.stream("GET", self.url + "/api/events", headers=AUTH) as res:
            event_id, data = None, None
            for line in res.iter_lines():
                if self.stop:
                    return
                if line == ": connected":
                    self.connected.set()
                elif line.startswith("id:"):
                    event_id = line[3:].strip()
                elif line.startswith("data:"):
                    data = line[5:].strip()
                elif line == "" and data is not None:
                    self.events.append((event_id or "", json.loads(data)))
                    event_id, data = None, None

    def saw(self, agent_id: str) -> bool:
        return any(e["type"] == "agent.registered" and e["subject"] == agent_id for _, e in self.events)


def test_restarting_the_api_node_under_the_page_loses_no_event(page: Any, stack: Stack) -> None:
    """The page's stream goes through the load balancer to node A. Node A is restarted while the
    balancer holds new connections back, and events are created on node B meanwhile, so only a
    Last-Event-ID replay can bring them to the page. Afterwards the page must show exactly what an
    independent reader on node B saw: none lost, none twice."""
    login(page, stack, view="events")
    reconnects: list[dict[str, str]] = []
    page.on("request", lambda req: reconnects.append(dict(req.headers)) if req.url.endswith("/api/events") else None)
    reader = StreamReader(stack.node_b.url)
    reader.start()
    assert reader.connected.wait(10)
    try:
        register_agent(stack, "marker-start")
        wait_until(lambda: reader.saw("marker-start"), "the reader")
        wait_until(lambda: page_has_agent_event(page, "marker-start"), "the page")
        stack.lb.pause()  # hold reconnects back
        stack.restart_node_a()
        page.wait_for_selector("#stream-status.reconnecting")
        for i in range(5):
            register_agent(stack, f"while-down-{i}")
        wait_until(lambda: reader.saw("while-down-4"), "the reader")
        assert not page_has_agent_event(page, "while-down-0")
        stack.lb.resume()
        page.wait_for_selector("#stream-status.live", timeout=20000)
        for i in range(3):
            register_agent(stack, f"after-{i}")
        wait_until(lambda: reader.saw("after-2"), "the reader")
        wait_until(lambda: page_has_agent_event(page, "after-2"), "the page")
    finally:
        reader.stop = True
    expected = [event_id for event_id, _ in reader.events]
    seen = page.eval_on_selector_all(
        "#view-events li[data-event-id]",
        "els => els.map(e => [Number(e.dataset.seq), e.dataset.eventId]).sort((a, b) => a[0] - b[0]).map(x => x[1])",
    )
    first = expected.index(next(i for i, e in reader.events if e["subject"] == "marker-start"))
    expected = expected[first : expected.index(next(i for i, e in reader.events if e["subject"] == "after-2")) + 1]
    start = seen.index(expected[0])
    assert seen[start : start + len(expected)] == expected, "the page lost or repeated events across the restart"
    assert len(set(seen)) == len(seen)
    # Every reconnect attempt sent the id of the last event the page had before the restart.
    resumed = {h["last-event-id"] for h in reconnects if "last-event-id" in h}
    assert len(resumed) == 1, reconnects
    down = next(i for i, e in reader.events if e["subject"] == "while-down-0")
    assert seen.index(resumed.pop()) < seen.index(down)
    shot(page, "events-after-node-restart")


def page_has_agent_event(page: Any, agent_id: str) -> bool:
    return bool(page.query_selector(f'#view-events li[data-type="agent.registered"][data-subject="{agent_id}"]'))

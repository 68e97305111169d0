"""Every view with data in it, at desktop and phone width: screenshots for a person to look at
(tests/artifacts/screenshots/<view>-desktop.png, <view>-phone.png), and the checks a screenshot
review would make: no horizontal overflow on a phone, no name printed twice, no view left empty."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dashboard.conftest import (
    DESKTOP,
    ORCHESTRATOR_ID,
    PHONE,
    Stack,
    api_json,
    integration_event,
    login,
    register_agent,
    shot,
)
from tests.dashboard.test_pwa import VIEW_IDS
from tests.waiting import wait_until

# What each view must show once the data below exists (the view's own rows, not an empty state).
FILLED = {
    "agents": 'tr[data-agent="ana"]',
    "orchestrators": f'tr[data-orchestrator="{ORCHESTRATOR_ID}"]',
    "messages": "article[data-message]",
    "tasks": "tr[data-task]",
    "commands": "tr[data-command]",
    "recipes": "tr[data-instance]",
    "automations": "tr[data-run]",
    "channels": 'tr[data-channel="slack-ops"] li[data-binding]',
    "pairs": "tr[data-pair]",
    "integrations": "tr[data-delivery]",
    "tokens": "tr[data-jti]",
    "activity": "li[data-activity]",
    "events": "li[data-event-id]",
    "system": "[data-workers]",
    "api": ".op",
}


@pytest.fixture(scope="module")
def seeded(stack: Stack) -> Stack:
    """A relay with something in every area, made over the API as agents and operators would."""
    register_agent(stack, "ana", name="Ana Lopez", label="frontend", tags=["ui", "pool:review"], capabilities=["code", "review"], provider="claude", model="sonnet")
    register_agent(stack, "ben", tags=["pool:review", "backend"], capabilities=["code"], provider="codex")
    api_json(stack, "PATCH", "/api/agents/ben/status", json={"status": "busy"})
    register_agent(stack, "a-very-long-agent-identifier-that-would-overflow-a-phone-screen", tags=["long"])
    register_agent(stack, "slack-ops", kind="channel", name="Slack #ops")
    register_agent(stack, "review-queue", kind="channel")
    api_json(stack, "POST", "/api/channel-bindings", json={"channelId": "slack-ops", "target": "tag:ui"})
    api_json(stack, "POST", "/api/channel-bindings", json={"channelId": "review-queue", "target": "pool:review"})
    api_json(stack, "POST", "/api/channels/slack-ops/events", json={"body": "deploy finished", "subject": "deploy"})
    root = api_json(stack, "POST", "/api/messages", json={"from": "user", "to": "ana", "subject": "Release", "body": "Can you check the release notes?"})
    api_json(stack, "POST", "/api/messages", json={"from": "ana", "replyTo": root["id"], "body": "On it."})
    claim = api_json(stack, "POST", "/api/messages", json={"from": "user", "to": "tag:pool:review", "body": "Who reviews PR 42?", "claimable": True})
    api_json(stack, "POST", f"/api/messages/{claim['id']}/claim", json={"agentId": "ben"})
    api_json(stack, "POST", "/api/messages", json={"from": "user", "to": "broadcast", "body": "Standup in 5 minutes"})
    t1 = api_json(stack, "POST", "/api/tasks", json={"title": "Fix the login redirect", "severity": "critical", "target": "ana", "body": "Users land on /404."})
    api_json(stack, "POST", f"/api/tasks/{t1['id']}/claim", json={"agentId": "ana"})
    api_json(stack, "PATCH", f"/api/tasks/{t1['id']}/status", json={"status": "in_progress", "agentId": "ana", "note": "reproduced"})
    t2 = api_json(stack, "POST", "/api/tasks", json={"title": "Update dependencies", "severity": "info"})
    api_json(stack, "PATCH", f"/api/tasks/{t2['id']}/status", json={"status": "done"})
    res = integration_event(stack, target="ana", title="Sentry: TypeError in checkout", severity="warning", externalId="SENTRY-1")
    assert res.status_code == 201, res.text
    api_json(stack, "POST", "/api/pairs", json={"from": "ana", "to": "ben", "topic": "API contract"})
    pair = api_json(stack, "POST", "/api/pairs", json={"from": "ben", "to": "user", "topic": "Incident review"})
    api_json(stack, "POST", f"/api/pairs/{pair['id']}/accept", json={"agentId": "user"})
    api_json(stack, "POST", "/api/agents/spawn", json={"provider": "claude", "label": "helper"})
    api_json(stack, "POST", "/api/commands", json={"type": "agent.prompt", "source": "system", "target": "ana", "params": {"prompt": "Summarise the diff"}})
    auto = api_json(stack, "POST", "/api/automations", json={"name": "nightly digest", "trigger": {"type": "schedule", "cron": "0 2 * * *", "timezone": "Europe/Berlin"}, "action": {"type": "message", "message": {"from": "system", "to": "ana", "body": "digest"}}})
    api_json(stack, "POST", f"/api/automations/{auto['id']}/run")
    api_json(stack, "POST", "/api/automations", json={"name": "page on critical", "trigger": {"type": "event", "event": "task.created", "filter": {"severity": "critical"}}, "action": {"type": "task", "task": {"title": "Page on-call", "target": "ben"}}})
    recipe = api_json(stack, "GET", "/api/recipes/test")["recipe"]
    params = {p["name"]: f"{p['name']} for the screenshots" for p in recipe["parameters"] if p.get("required")}
    inst = api_json(stack, "POST", "/api/recipes/start", json={"name": "test", "orchestratorId": ORCHESTRATOR_ID, "parameters": params})["instance"]
    wait_until(lambda: api_json(stack, "GET", f"/api/recipes/instances/{inst['id']}")["status"] == "succeeded", "the recipe", timeout=30)
    api_json(stack, "POST", "/api/tokens", json={"role": "operator", "sub": "night-shift"})
    api_json(stack, "POST", "/api/tokens", json={"role": "agent", "sub": "ana", "scopes": ["messages:*", "agents:read"], "ttlSeconds": 86400})
    wait_until(lambda: api_json(stack, "GET", "/api/integrations/deliveries", params={"status": "delivered"}), "a delivered callback", timeout=20)
    return stack


def test_every_view_desktop_and_phone(page: Any, seeded: Stack) -> None:
    login(page, seeded)
    for size, label in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page.set_viewport_size(size)
        for view in VIEW_IDS:
            page.goto(seeded.url + f"/#/{view}")
            if view == "events":  # the live view shows what happens after sign-in
                api_json(seeded, "PATCH", "/api/agents/ana/status", json={"status": "idle" if label == "desktop" else "online"})
            page.wait_for_selector(f"#view-{view}:not([hidden]) {FILLED[view]}")
            if view == "recipes":
                page.click("#view-recipes tr[data-instance] a")
                page.wait_for_selector("section.instance[data-status=succeeded]")
            if view == "tasks":
                page.click("#view-tasks tr[data-task] a:has-text('Fix the login redirect')")
                page.wait_for_selector("#view-tasks .detail h2:has-text('Fix the login redirect')")
            if view == "system":
                page.wait_for_selector("#view-system .badge.health-on_time, #view-system .badge.status-lagging")
            shot(page, f"{view}-{label}")
            if label == "phone":
                overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, f"{view} is {overflow}px wider than a phone"
    # The phone's menu, opened.
    page.click("#menu-toggle")
    page.wait_for_selector("#nav.open")
    shot(page, "menu-phone", full_page=False)


def test_names_are_printed_once(page: Any, seeded: Stack) -> None:
    login(page, seeded, view="agents")
    page.wait_for_selector('tr[data-agent="ana"]')
    cells = page.eval_on_selector_all("#view-agents td[data-label=Agent] .agent-title", "els => els.map(e => [...e.children].map(c => c.textContent.trim().toLowerCase()))")
    assert cells and all(len(set(parts)) == len(parts) for parts in cells), cells
    ana = page.inner_text('tr[data-agent="ana"] td[data-label=Agent]')
    assert "Ana Lopez" in ana and "ana" in ana.split()
    system = page.inner_text('tr[data-agent="system"] td[data-label=Agent]')
    assert system.strip().lower() == "system"


def test_the_login_page_and_dialogs(page: Any, seeded: Stack) -> None:
    page.goto(seeded.url + "/")
    page.evaluate("localStorage.clear(); sessionStorage.clear()")
    page.reload()
    page.wait_for_selector("#login:not([hidden])")
    shot(page, "login-desktop")
    page.set_viewport_size(PHONE)
    shot(page, "login-phone")
    page.set_viewport_size(DESKTOP)
    login(page, seeded, view="agents")
    page.click("button:has-text('Spawn agent')")
    page.wait_for_selector("dialog[open]")
    page.set_viewport_size(PHONE)
    shot(page, "spawn-dialog-phone", full_page=False)
    overflow = page.evaluate("document.querySelector('dialog').scrollWidth - document.querySelector('dialog').clientWidth")
    assert overflow <= 0

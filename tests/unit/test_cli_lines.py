"""What the `relay` CLI prints for people: a command's result as JSON, an event's subject and cause, a token's time left."""

from __future__ import annotations

import json
import time

from relay_client.cli.common import ago, span
from relay_client.cli.events import event_line
from relay_client.cli.work import _command_line
from relay_client.models import Command, Event


def test_watch_line_prints_the_result_as_json() -> None:
    command = Command(
        id="cmd_1",
        type="provider.test",
        target="orchestrator:o1",
        status="succeeded",
        result={"ok": True, "path": "/usr/bin/claude", "error": None},
        updated_at=1_700_000_000_000,
    )
    line = _command_line(command)
    assert line.endswith('  {"ok": true, "path": "/usr/bin/claude", "error": null}')
    assert json.loads(line.split("  succeeded  ", 1)[1]) == command.result


def test_watch_line_prints_the_error_text() -> None:
    command = Command(id="cmd_2", type="agent.spawn", target="orchestrator:o1", status="failed", error="cwd outside")
    assert _command_line(command).endswith("agent.spawn → orchestrator:o1  failed  cwd outside")


def test_event_line_names_the_subject_and_who_caused_it() -> None:
    """`relay events` used to print `alice → 16` for message 16 from alice, which reads as a message to "16"."""
    event = Event(
        type="message.created",
        source="alice",
        subject="16",
        ts=1_700_000_000_000,
        data={"message": {"id": 16, "from": "alice", "to": "bob", "body": "yo"}},
    )
    assert event_line(event).endswith("message.created          16 by alice  alice → bob: yo")


def test_event_line_summarises_an_activity_entry_by_its_title() -> None:
    event = Event(type="activity.created", source="server", data={"activity": {"id": 72, "title": "Task created"}})
    assert event_line(event).endswith("activity.created         - by server  Task created")


def test_doctor_says_how_long_a_token_has_left_in_a_unit_people_read() -> None:
    """An hour's agent token used to be reported as "expires in 0.0 days"."""
    assert [span(s) for s in (-3, 45, 3000, 3600, 18000, 30 * 86400)] == [
        "0 s",
        "45 s",
        "50 min",
        "60 min",
        "5.0 h",
        "30.0 days",
    ]


def test_tables_say_how_long_ago_in_short_units() -> None:
    now_ms = int(time.time() * 1000)
    assert [ago(now_ms - s * 1000) for s in (30, 600, 7200, 3 * 86400)] == ["30s ago", "10m ago", "2h ago", "3d ago"]
    assert ago(None) == ""

"""What `relay commands watch` prints for people: a command's result as the JSON the relay sent."""

from __future__ import annotations

import json

from relay_client.cli.work import _command_line
from relay_client.models import Command


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

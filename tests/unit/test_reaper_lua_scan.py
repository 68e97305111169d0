"""The reaper's due-range scan lives once, in the Lua prelude (`reap_due`): a reaper script that scans a
deadline zset calls it instead of repeating the ZRANGEBYSCORE loop."""

from __future__ import annotations

from pathlib import Path

import relay_model

PACKAGE = Path(relay_model.__file__).parent


def reaper_scripts() -> list[Path]:
    return [p for p in sorted(PACKAGE.glob("*/lua/*.lua")) if p.read_text().startswith("-- Reaper:")]


def test_every_reaper_script_that_scans_a_deadline_zset_uses_reap_due() -> None:
    scripts = reaper_scripts()
    assert {p.name for p in scripts} >= {"reap_message_claims.lua", "task_release_expired.lua", "pair_expire.lua"}
    by_hand = [p.name for p in scripts if "ZRANGEBYSCORE" in p.read_text()]
    assert by_hand == []
    scanning = [p.name for p in scripts if "reap_due(" in p.read_text()]
    assert set(scanning) >= {"reap_message_claims.lua", "task_release_expired.lua", "pair_expire.lua"}

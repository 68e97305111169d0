"""System tools the tests drive for real (nginx, tmux, chromium, redis-cli for the Redis Cluster).

Locally a missing tool skips the tests that need it, with the hint to install it. Under CI (CI set)
it fails them: `scripts/test.sh` installs every tool on a fresh machine, so a tool missing there is
a broken setup, never a reason to go green without running the test.
"""

from __future__ import annotations

import os
import shutil

import pytest

# Debian puts nginx in /usr/sbin, which a non-root PATH often lacks.
_FALLBACKS = {"nginx": "/usr/sbin/nginx", "chromium": "/usr/bin/chromium"}
# Tools scripts/test.sh cannot install (no Debian package recent enough).
_HINTS = {"kubectl": "kubectl is not installed (deploy/k8s renders with `kubectl kustomize`; install kubectl >= 1.27)"}


def find_tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    fallback = _FALLBACKS.get(name)
    return fallback if fallback and os.path.exists(fallback) else None


def require_tool(name: str, *, module_level: bool = False) -> str:
    """The tool's path; otherwise skip (locally) or fail (under CI) the calling test or module."""
    path = find_tool(name)
    if path is not None:
        return path
    why = _HINTS.get(name, f"{name} is not installed (scripts/test.sh installs it with apt-get when run as root)")
    if os.environ.get("CI"):
        pytest.fail(why, pytrace=False)
    pytest.skip(why, allow_module_level=module_level)

"""Where the relay is and which token to use, when the caller does not say.

The order, for the URL: the argument, `AGENT_RELAY_URL`, the `url` file that `relay dev` writes in
its data dir (`AGENT_RELAY_DATA_DIR`, default `~/.agent-relay`), then `http://127.0.0.1:4850`.
For the token: the argument, `AGENT_RELAY_TOKEN`, `AGENT_RELAY_ADMIN_TOKEN` (what `relay serve`
and `relay dev` are given, and what `relay token` always read), then the `admin-token` file of the
data dir — but that file only for the relay that data dir belongs to: the local admin token is
never sent to a relay elsewhere just because no token was set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:4850"
URL_FILE = "url"
ADMIN_TOKEN_FILE = "admin-token"  # noqa: S105 - a file name


def data_dir() -> Path:
    raw = os.environ.get("AGENT_RELAY_DATA_DIR")
    return Path(raw) if raw else Path.home() / ".agent-relay"


def _read(path: Path) -> str | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return text or None


def _normal(url: str) -> str:
    return url.strip().rstrip("/")


@dataclass(frozen=True)
class Target:
    url: str
    token: str | None
    # Where each came from, for `relay doctor` and error messages.
    url_source: str
    token_source: str | None


def resolve(url: str | None = None, token: str | None = None) -> Target:
    """The relay URL and token to use (see the module docstring for the order)."""
    folder = data_dir()
    dev_url = _read(folder / URL_FILE)
    if url:
        chosen, url_source = url, "argument"
    elif os.environ.get("AGENT_RELAY_URL"):
        chosen, url_source = os.environ["AGENT_RELAY_URL"], "AGENT_RELAY_URL"
    elif dev_url:
        chosen, url_source = dev_url, str(folder / URL_FILE)
    else:
        chosen, url_source = DEFAULT_URL, "default"
    chosen = _normal(chosen)

    if token:
        return Target(chosen, token, url_source, "argument")
    for name in ("AGENT_RELAY_TOKEN", "AGENT_RELAY_ADMIN_TOKEN"):
        if os.environ.get(name):
            return Target(chosen, os.environ[name], url_source, name)
    # `relay dev` keeps its admin token beside the URL it serves; before it wrote the URL, it
    # served the default one.
    belongs = chosen == _normal(dev_url) if dev_url else chosen == DEFAULT_URL
    admin = _read(folder / ADMIN_TOKEN_FILE) if belongs else None
    if admin:
        return Target(chosen, admin, url_source, str(folder / ADMIN_TOKEN_FILE))
    return Target(chosen, None, url_source, None)

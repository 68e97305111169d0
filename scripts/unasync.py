"""Generate the sync client from the async one: `python scripts/unasync.py` (`--check`: fail if stale).

The async client (relay_client/_async/client.py) is written by hand; its sync twin is the same code
with the async keywords and names rewritten, so the two cannot drift. Only I/O differs, and what
differs beyond these rewrites lives in the hand-written `_io.py` of each side.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "relay_client" / "_async" / "client.py"
TARGET = ROOT / "relay_client" / "_sync" / "client.py"

HEADER = "# Generated from relay_client/_async/client.py by scripts/unasync.py: edit that file, not this one.\n"

# Applied in order, each a regular expression with word boundaries.
RULES: list[tuple[str, str]] = [
    (r"\basync def\b", "def"),
    (r"\basync with\b", "with"),
    (r"\basync for\b", "for"),
    (r"\bawait ", ""),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\b__aiter__\b", "__iter__"),
    (r"\b__anext__\b", "__next__"),
    (r"\bStopAsyncIteration\b", "StopIteration"),
    (r"\baclose\b", "close"),
    (r"\baiter_lines\b", "iter_lines"),
    (r"\baread\b", "read"),
    (r"\banext\(", "next("),
    (r"\brelay_client\._async\b", "relay_client._sync"),
    # AsyncClient -> Client, AsyncIterator -> Iterator, httpx.AsyncBaseTransport -> httpx.BaseTransport, ...
    (r"\bAsync(?=[A-Z])", ""),
]


def transform(text: str) -> str:
    for pattern, replacement in RULES:
        text = re.sub(pattern, replacement, text)
    return HEADER + text


def generate() -> str:
    return transform(SOURCE.read_text())


def main(argv: list[str]) -> int:
    text = generate()
    if "--check" in argv:
        if TARGET.read_text() != text:
            print(f"{TARGET.relative_to(ROOT)} is stale: run python scripts/unasync.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

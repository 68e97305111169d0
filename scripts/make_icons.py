"""Render the dashboard's PNG icons from static/icon.svg with Debian's chromium (run by hand when
the icon changes; the PNGs are committed, so nothing is built at run time).

    .venv/bin/python scripts/make_icons.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

STATIC = Path(__file__).resolve().parent.parent / "relay_api" / "static"
# A maskable icon is cropped to a circle of 80 % of its width: the glyph sits well inside it.
MASKABLE = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" fill="#0f172a"/>'
    '<g transform="translate(12.8 12.8) scale(0.6)"><path d="M14 32h36M32 14v36" stroke="#38bdf8" stroke-width="6"'
    ' stroke-linecap="round"/><circle cx="32" cy="32" r="9" fill="#22c55e"/></g></svg>'
)


def render(page: Page, svg: str, size: int, out: Path) -> None:
    page.set_viewport_size({"width": size, "height": size})
    page.set_content(
        f'<html><body style="margin:0;background:transparent">'
        f'<div style="width:{size}px;height:{size}px">{svg.replace("<svg ", f"<svg width={size} height={size} ")}</div>'
        "</body></html>"
    )
    page.screenshot(path=str(out), omit_background=True, clip={"x": 0, "y": 0, "width": size, "height": size})


def main() -> None:
    svg = (STATIC / "icon.svg").read_text()
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        ctx = p.chromium.launch_persistent_context(
            profile, executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = ctx.new_page()
        render(page, svg, 192, STATIC / "icon-192.png")
        render(page, svg, 512, STATIC / "icon-512.png")
        render(page, MASKABLE, 512, STATIC / "icon-maskable-512.png")
        ctx.close()


if __name__ == "__main__":
    main()

"""Lua helper libraries shared by several scripts of one area.

The loader prepends only `_prelude.lua`. A script that needs one of these libraries says
`--[[include:<name>]]` on a line of its own; the library (`lua/_<name>.lua`, its key templates
already filled in) replaces that marker when the script is loaded. Unreplaced, the marker is a
plain Lua comment.
"""

from __future__ import annotations

from importlib import resources

from . import scripts


def register_lua_library(name: str) -> None:
    """Call after the library's key templates are registered."""
    text = (resources.files("relay_model") / "lua" / f"_{name}.lua").read_text()
    for marker, value in scripts.TEMPLATES.items():
        text = text.replace(marker, value)
    scripts.register_templates({f"--[[include:{name}]]": text})

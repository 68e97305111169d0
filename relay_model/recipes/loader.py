"""Where recipes come from: the built-in `recipes/` directory and the user's directory.

Built-ins are found next to the packages in a checkout (`<repo>/recipes`) and, in an installed
package, under `<prefix>/share/agent-relay/recipes` (pyproject's data-files). User recipes come
from `AGENT_RELAY_RECIPES_DIR`; a user recipe whose `name` equals a built-in's replaces it, so a
team can adapt `feature` without forking the relay. Files are `*.yaml` / `*.yml`; a file that does
not validate is left out of the list (and logged) while `get` of its name reports the errors.

Every API node reads the same directories, so they must hold the same files on every node (ship the
user directory as a mounted volume or config map). Parsed files are cached by (mtime, size), which
never changes an answer: an edited file is re-read on the next request.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec

from relay_model.errors import NotFound
from relay_model.recipes.schema import Recipe, RecipeError, parse

log = logging.getLogger("relay.recipes")

Source = Literal["builtin", "user"]


class LoadedRecipe(msgspec.Struct, kw_only=True, rename="camel"):
    """The seed's shape for `GET /api/recipes` and `GET /api/recipes/:name`."""

    name: str
    source: Source
    path: str
    recipe: Recipe


@dataclass(frozen=True, slots=True)
class _Entry:
    stamp: tuple[int, int]
    recipe: Recipe | None
    error: RecipeError | None


_CACHE: dict[str, _Entry] = {}


def builtin_dir() -> Path | None:
    checkout = Path(__file__).resolve().parents[2]  # <repo>/relay_model/recipes/loader.py -> <repo>
    for candidate in (
        checkout / "recipes",
        Path(sys.prefix) / "share" / "agent-relay" / "recipes",
        Path(sys.base_prefix) / "share" / "agent-relay" / "recipes",
    ):
        if candidate.is_dir():
            return candidate
    return None


def _display(path: Path, source: Source) -> str:
    return f"recipes/{path.name}" if source == "builtin" else str(path)


def _load_file(path: Path, source: Source) -> _Entry | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None  # removed since its directory was listed
    stamp = (st.st_mtime_ns, st.st_size)
    key = str(path)
    cached = _CACHE.get(key)
    if cached is not None and cached.stamp == stamp:
        return cached
    try:
        entry = _Entry(stamp, parse(path.read_text(encoding="utf-8"), _display(path, source)), None)
    except RecipeError as err:
        entry = _Entry(stamp, None, err)
    except (OSError, UnicodeDecodeError) as exc:
        entry = _Entry(stamp, None, RecipeError([f"{_display(path, source)}: cannot read: {exc}"]))
    _CACHE[key] = entry
    return entry


def _files(directory: Path | None) -> list[Path]:
    if directory is None or not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


class RecipeCatalog:
    def __init__(self, user_dir: str = "", builtin: Path | None = None) -> None:
        self.builtin = builtin if builtin is not None else builtin_dir()
        self.user = Path(user_dir).expanduser() if user_dir else None

    def _scan(self) -> tuple[dict[str, LoadedRecipe], dict[str, RecipeError]]:
        found: dict[str, LoadedRecipe] = {}
        broken: dict[str, RecipeError] = {}
        places: tuple[tuple[Source, Path | None], ...] = (("builtin", self.builtin), ("user", self.user))
        for source, directory in places:
            for path in _files(directory):
                entry = _load_file(path, source)
                if entry is None:
                    continue
                if entry.recipe is not None:
                    found[entry.recipe.name] = LoadedRecipe(
                        name=entry.recipe.name, source=source, path=str(path), recipe=entry.recipe
                    )
                    broken.pop(entry.recipe.name, None)
                elif entry.error is not None:
                    log.warning("invalid recipe: %s", entry.error.message)
                    # A broken file is reported under its file name (its `name` may be what is broken).
                    if path.stem not in found:
                        broken[path.stem] = entry.error
        return found, broken

    def list(self) -> list[LoadedRecipe]:
        found, _ = self._scan()
        return sorted(found.values(), key=lambda r: r.name)

    def get(self, name: str) -> LoadedRecipe:
        found, broken = self._scan()
        if name in found:
            return found[name]
        if name in broken:
            raise broken[name]
        raise NotFound("recipe not found")

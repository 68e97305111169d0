"""Reaper step of recipes: catch up the progression a crashed node left half done (`RecipeRunner.repair`).

The pass runs it in the order `relay_model.relay.REAP_STEPS` gives; see `relay_model.reaper` for the
contract every step keeps.
"""

from __future__ import annotations

from typing import Protocol

from relay_model.reaper import ReapReport
from relay_model.recipes.runner import RecipeRunner


class RecipeReaping(Protocol):
    """What this step uses of the relay."""

    recipes: RecipeRunner


async def progress_recipes(relay: RecipeReaping, now: int, report: ReapReport) -> None:
    await relay.recipes.repair(now)

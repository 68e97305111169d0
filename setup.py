"""Build hook: the built-in recipes (top-level `recipes/`) become package data of the wheel.

Everything else about the package is in pyproject.toml. The recipes stay where people look for them
(`recipes/` at the top of the checkout); `build_py` copies them into `relay_model/recipes/builtin/`
of the built package, where `relay_model.recipes.loader` finds them in any installation (wheel,
image, `pip install --target`), with no data-files prefix to guess.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

RECIPES = Path(__file__).parent / "recipes"
TARGET = ("relay_model", "recipes", "builtin")


class BuildWithRecipes(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib, *TARGET)
        self.mkpath(str(target))
        for recipe in sorted(RECIPES.glob("*.yaml")):
            self.copy_file(str(recipe), str(target / recipe.name))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        built = [str(Path(self.build_lib, *TARGET, recipe.name)) for recipe in sorted(RECIPES.glob("*.yaml"))]
        return [*super().get_outputs(include_bytecode), *built]


setup(cmdclass={"build_py": BuildWithRecipes})

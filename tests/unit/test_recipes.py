"""Recipe files: the built-ins, the validator's messages, the user directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from relay_model.errors import NotFound
from relay_model.recipes.loader import RecipeCatalog, builtin_dir
from relay_model.recipes.schema import RecipeError, parse, render

BUILTINS = ["code-review", "debug", "feature", "refactor", "test"]

MINIMAL = """
name: tiny
roles:
  dev: {provider: codex}
steps:
  - {id: spawn, role: dev, action: spawn}
  - {id: work, role: dev, action: prompt, needs: [spawn], prompt: "do {{goal}}"}
parameters:
  - {name: goal, required: true}
"""


def errors_of(text: str, source: str = "recipes/feature.yaml") -> list[str]:
    with pytest.raises(RecipeError) as info:
        parse(text, source)
    return info.value.errors


def test_builtins_load_and_validate() -> None:
    directory = builtin_dir()
    assert directory is not None and sorted(p.stem for p in directory.glob("*.yaml")) == BUILTINS
    catalog = RecipeCatalog()
    loaded = catalog.list()
    assert [r.name for r in loaded] == BUILTINS
    assert all(r.source == "builtin" and r.path.endswith(f"recipes/{r.name}.yaml") for r in loaded)
    feature = catalog.get("feature").recipe
    assert list(feature.roles) == ["planner", "implementer", "reviewer", "tester"]
    assert feature.roles["planner"].approval_mode == "read-only"
    assert [p.name for p in feature.parameters] == ["goal", "testCommand"]
    for recipe in loaded:
        assert len(recipe.recipe.roles) >= 2 and len(recipe.recipe.steps) >= 4


def test_validator_names_file_field_and_problem() -> None:
    broken = """
name: Feature
extra: 1
roles:
  planner: {provider: gpt, approvalMode: sloppy, prompt: "plan {{goal}} with {{nope}}"}
steps:
  - {id: spawn, role: planner, action: spawn}
  - {id: plan, role: planer, action: prompt, needs: [spawn]}
  - {id: test, role: planner, action: dance, needs: [tset]}
  - {id: a, role: planner, action: prompt, needs: [b], onFailure: retry 99, timeoutMs: 0}
  - {id: b, role: planner, action: prompt, needs: [a]}
parameters:
  - {name: goal}
"""
    assert errors_of(broken) == [
        "recipes/feature.yaml: extra: unknown field",
        "recipes/feature.yaml: name: must be lowercase letters, digits and dashes (at most 80)",
        "recipes/feature.yaml: roles.planner.provider: must be one of: claude, codex (got 'gpt')",
        "recipes/feature.yaml: roles.planner.approvalMode: must be one of: open, guarded, read-only (got 'sloppy')",
        'recipes/feature.yaml: roles.planner.prompt: unknown parameter "{{nope}}"',
        'recipes/feature.yaml: steps[1].role: unknown role "planer"',
        "recipes/feature.yaml: steps[2].action: must be one of: spawn, prompt, task, shutdown (got 'dance')",
        "recipes/feature.yaml: steps[3].onFailure: must be fail, continue or retry N (N = 1..10)",
        "recipes/feature.yaml: steps[3].timeoutMs: must be a positive integer",
        'recipes/feature.yaml: steps[2].needs: unknown step "tset"',
        "recipes/feature.yaml: steps[3].needs: dependency cycle: a -> b -> a",
    ]


def test_validator_structure_errors() -> None:
    assert errors_of("name: x\nroles: [", "x.yaml")[0].startswith("x.yaml: invalid YAML: line 2")
    assert errors_of("- 1", "x.yaml") == ["x.yaml: a recipe must be a YAML mapping"]
    assert errors_of("name: x", "x.yaml") == ["x.yaml: roles: required", "x.yaml: steps: required"]
    no_spawn = """
name: x
roles: {dev: {provider: codex}, qa: {provider: claude}}
steps:
  - {id: s, role: dev, action: spawn}
  - {id: s, role: dev, action: spawn}
  - {id: w, role: dev, action: prompt}
  - {id: t, role: qa, action: task}
"""
    assert errors_of(no_spawn, "x.yaml") == [
        'x.yaml: steps[1].id: duplicate step id "s" (also steps[0])',
        "x.yaml: steps[3].task: required for a task step: a mapping with title, body, severity",
        'x.yaml: steps[1].action: role "dev" is already spawned by step "s"',
        'x.yaml: steps[2].needs: must depend on "s", the step that spawns role "dev"',
        'x.yaml: steps[3].role: role "qa" has no spawn step',
    ]


def test_parse_and_render() -> None:
    recipe = parse(MINIMAL, "tiny.yaml")
    assert recipe.steps[1].needs == ["spawn"] and recipe.steps[1].on_failure == "fail"
    assert recipe.parameters[0].required is True
    assert render("do {{goal}} in {{ cwd }}", {"goal": "x", "cwd": "/src"}) == "do x in /src"


def test_user_directory_overrides_and_reports_broken_files(tmp_path: Path) -> None:
    (tmp_path / "feature.yaml").write_text(MINIMAL.replace("name: tiny", "name: feature"))
    (tmp_path / "tiny.yml").write_text(MINIMAL)
    (tmp_path / "broken.yaml").write_text("name: broken\nroles: {}\nsteps: []\n")
    (tmp_path / "notes.txt").write_text("ignored")
    catalog = RecipeCatalog(str(tmp_path))
    by_name = {r.name: r for r in catalog.list()}
    assert sorted(by_name) == [*BUILTINS, "tiny"]
    assert by_name["feature"].source == "user" and by_name["feature"].path == str(tmp_path / "feature.yaml")
    assert by_name["tiny"].source == "user" and by_name["code-review"].source == "builtin"
    with pytest.raises(RecipeError) as info:
        catalog.get("broken")
    assert info.value.errors == [
        f"{tmp_path / 'broken.yaml'}: roles: must be a non-empty mapping of role name to role",
        f"{tmp_path / 'broken.yaml'}: steps: must be a non-empty list",
    ]
    with pytest.raises(NotFound, match="recipe not found"):
        catalog.get("nope")


def test_a_file_removed_while_the_directory_is_read_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relay_model.recipes import loader as recipe_loader

    (tmp_path / "tiny.yml").write_text(MINIMAL)
    listed = recipe_loader._files
    # The directory listing still names a file that is deleted before it is read.
    monkeypatch.setattr(
        recipe_loader, "_files", lambda d: [*listed(d), tmp_path / "gone.yaml"] if d == tmp_path else listed(d)
    )
    names = [r.name for r in RecipeCatalog(str(tmp_path)).list()]
    assert names == sorted([*BUILTINS, "tiny"])

"""Recipes: multi-agent workflows written as YAML, run as commands.

- `schema.py` the recipe format and its validator (`parse`, `validate`, `render`);
- `loader.py` where recipes come from: the built-in `recipes/` directory and the user's (`RecipeCatalog`);
- `runner.py` recipe instances: start, advance as their commands finish, stop (`RecipeRunner`);
- `reaper.py` the reaper step that repairs what a crashed node left half done;
- `lua/`      `recipe_instance.lua`, the instance's state machine.

Depends on `relay_model.commands` (every step is carried by a command) and `relay_model.agents`
(each role is spawned on an orchestrator).
"""

from relay_model import keys
from relay_model.scripts import LuaBundle

LUA = LuaBundle(__name__, templates={"$RECIPES_BY_STATUS$": keys.recipe_instances_by_status("")})

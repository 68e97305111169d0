"""Recipes: the YAML format of a multi-agent workflow, and its validator.

A recipe file (`recipes/<name>.yaml`, or a user directory named by `AGENT_RELAY_RECIPES_DIR`)::

    name: feature                 # required; lowercase letters, digits and dashes, ≤ 80 chars
    description: Plan, build ...  # optional
    parameters:                   # optional; values are given to POST /api/recipes/start
      - name: goal                # identifier: letters, digits, underscore
        description: What to build
        required: true            # default false
        default: ""               # used when the caller gives no value
    roles:                        # required; role name → role
      planner:
        provider: claude          # claude | codex (required)
        label: planner            # optional; the spawned agent's label (default "<recipe>-<role>")
        approvalMode: read-only   # open | guarded (default) | read-only
        capabilities: [plan]      # optional list of strings
        prompt: |                 # optional template; {{param}} placeholders
          You plan {{goal}} ...
    steps:                        # required; run in dependency order, independent steps in parallel
      - id: plan                  # unique; letters, digits, dash, underscore
        role: planner             # a declared role
        action: prompt            # spawn | prompt | task | shutdown
        prompt: "..."             # prompt: the text sent (default: the role's prompt)
        task: {title: "...", body: "...", severity: info}   # task: the task handed to the agent
        needs: [spawn-planner]    # steps that must be finished first
        onFailure: fail           # fail (default) | continue | retry N (N = 1..10 extra attempts)
        timeoutMs: 1800000        # the ttlMs of the step's commands (default 30 min)

Each step is carried by one command at a time (see `relay_model.recipes.runner`): `spawn` sends
`agent.spawn` to the orchestrator, `prompt` sends `agent.prompt` to the role's agent, `task` sends
`task.create` to it, `shutdown` sends `agent.shutdown`. A step succeeds when its command ends
`succeeded`; any other final status (failed, rejected, timed_out, canceled) is a failure, handled by
`onFailure`. A `prompt`, `task` or `shutdown` step must depend (directly or through other steps)
on the `spawn` step of its role, so the agent exists before it is addressed.

Templates may use `{{name}}` for every declared parameter and the built-ins `{{cwd}}`,
`{{recipe}}`, `{{instanceId}}` and `{{role}}`. The validator reports every problem as
`<file>: <field path>: <problem>`, e.g. `recipes/feature.yaml: steps[2].needs: unknown step "tset"`.
"""

from __future__ import annotations

import re
from typing import Any, Final, Literal

import msgspec
import yaml

from relay_model.base import Model
from relay_model.errors import Invalid

PROVIDERS: Final = ("claude", "codex")
APPROVAL_MODES: Final = ("open", "guarded", "read-only")
ACTIONS: Final = ("spawn", "prompt", "task", "shutdown")
SEVERITIES: Final = ("info", "warning", "critical")
BUILTIN_VARIABLES: Final = ("cwd", "recipe", "instanceId", "role")
DEFAULT_TIMEOUT_MS: Final = 30 * 60 * 1000
MAX_RETRIES: Final = 10
MAX_STEPS: Final = 50
MAX_PROMPT_CHARS: Final = 4000

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_STEP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_RETRY = re.compile(r"^retry\s+(\d+)$")


class RecipeParameter(Model):
    name: str
    description: str = ""
    required: bool = False
    default: str | None = None


class RecipeRole(Model):
    provider: Literal["claude", "codex"]
    label: str | None = None
    approval_mode: Literal["open", "guarded", "read-only"] = "guarded"
    capabilities: list[str] = msgspec.field(default_factory=list)
    prompt: str = ""


class RecipeTask(Model):
    title: str
    body: str = ""
    severity: Literal["info", "warning", "critical"] = "info"


class RecipeStep(Model):
    id: str
    role: str
    action: Literal["spawn", "prompt", "task", "shutdown"]
    description: str = ""
    prompt: str | None = None
    task: RecipeTask | None = None
    needs: list[str] = msgspec.field(default_factory=list)
    # "fail" | "continue" | "retry N"
    on_failure: str = "fail"
    timeout_ms: int = DEFAULT_TIMEOUT_MS

    @property
    def retries(self) -> int:
        m = _RETRY.match(self.on_failure)
        return int(m.group(1)) if m else 0

    @property
    def continues(self) -> bool:
        return self.on_failure == "continue"


class Recipe(Model):
    name: str
    description: str = ""
    parameters: list[RecipeParameter] = msgspec.field(default_factory=list)
    roles: dict[str, RecipeRole] = msgspec.field(default_factory=dict)
    steps: list[RecipeStep] = msgspec.field(default_factory=list)


class RecipeError(Invalid):
    """A recipe that does not validate; `errors` holds every `<file>: <path>: <problem>` line."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[str] = []

    def add(self, path: str, problem: str) -> None:
        self.errors.append(f"{self.source}: {path}: {problem}" if path else f"{self.source}: {problem}")

    def string(self, obj: dict[str, Any], key: str, path: str, *, required: bool = False, max_len: int = 4000) -> None:
        value = obj.get(key)
        where = f"{path}.{key}" if path else key
        if value is None:
            if required:
                self.add(where, "required")
            return
        if not isinstance(value, str):
            self.add(where, "must be a string")
        elif required and not value.strip():
            self.add(where, "must not be empty")
        elif len(value) > max_len:
            self.add(where, f"must be at most {max_len} characters")

    def enum(self, obj: dict[str, Any], key: str, path: str, allowed: tuple[str, ...], *, required: bool) -> None:
        value = obj.get(key)
        where = f"{path}.{key}" if path else key
        if value is None:
            if required:
                self.add(where, "required")
        elif value not in allowed:
            self.add(where, f"must be one of: {', '.join(allowed)} (got {value!r})")

    def unknown(self, obj: dict[str, Any], allowed: set[str], path: str) -> None:
        for key in obj:
            if key not in allowed:
                self.add(f"{path}.{key}" if path else str(key), "unknown field")

    def template(self, value: Any, path: str, variables: set[str]) -> None:
        if not isinstance(value, str):
            return
        for name in _PLACEHOLDER.findall(value):
            if name not in variables:
                self.add(path, f'unknown parameter "{{{{{name}}}}}"')


def _check_parameters(c: _Checker, raw: Any) -> set[str]:
    names: set[str] = set()
    if raw is None:
        return names
    if not isinstance(raw, list):
        c.add("parameters", "must be a list")
        return names
    for i, param in enumerate(raw):
        path = f"parameters[{i}]"
        if not isinstance(param, dict):
            c.add(path, "must be a mapping")
            continue
        c.unknown(param, {"name", "description", "required", "default"}, path)
        name = param.get("name")
        if not isinstance(name, str) or not _IDENT.match(name):
            c.add(f"{path}.name", "required: letters, digits and underscores, not starting with a digit")
        elif name in names:
            c.add(f"{path}.name", f'duplicate parameter "{name}"')
        elif name in BUILTIN_VARIABLES:
            c.add(f"{path}.name", f'"{name}" is a built-in variable')
        else:
            names.add(name)
        c.string(param, "description", path)
        if "required" in param and not isinstance(param["required"], bool):
            c.add(f"{path}.required", "must be true or false")
        if "default" in param and not isinstance(param["default"], str | int | float | bool):
            c.add(f"{path}.default", "must be a string")
    return names


def _check_roles(c: _Checker, raw: Any, variables: set[str]) -> set[str]:
    if raw is None:
        c.add("roles", "required")
        return set()
    if not isinstance(raw, dict) or not raw:
        c.add("roles", "must be a non-empty mapping of role name to role")
        return set()
    for name, role in raw.items():
        path = f"roles.{name}"
        if not isinstance(name, str) or not _IDENT.match(name):
            c.add(path, "role names are letters, digits and underscores")
        if not isinstance(role, dict):
            c.add(path, "must be a mapping")
            continue
        c.unknown(role, {"provider", "label", "approvalMode", "capabilities", "prompt"}, path)
        c.enum(role, "provider", path, PROVIDERS, required=True)
        c.enum(role, "approvalMode", path, APPROVAL_MODES, required=False)
        c.string(role, "label", path, max_len=120)
        c.string(role, "prompt", path, max_len=MAX_PROMPT_CHARS)
        c.template(role.get("prompt"), f"{path}.prompt", variables)
        caps = role.get("capabilities")
        if caps is not None and (not isinstance(caps, list) or not all(isinstance(x, str) and x for x in caps)):
            c.add(f"{path}.capabilities", "must be a list of strings")
    return {str(name) for name in raw}


def _check_step(c: _Checker, i: int, step: dict[str, Any], roles: set[str], variables: set[str]) -> None:
    path = f"steps[{i}]"
    allowed = {"id", "role", "action", "description", "prompt", "task", "needs", "onFailure", "timeoutMs"}
    c.unknown(step, allowed, path)
    role = step.get("role")
    if role is None:
        c.add(f"{path}.role", "required")
    elif role not in roles:
        c.add(f"{path}.role", f'unknown role "{role}"')
    c.enum(step, "action", path, ACTIONS, required=True)
    c.string(step, "description", path)
    c.string(step, "prompt", path, max_len=MAX_PROMPT_CHARS)
    c.template(step.get("prompt"), f"{path}.prompt", variables)
    action = step.get("action")
    task = step.get("task")
    if action == "task":
        if not isinstance(task, dict):
            c.add(f"{path}.task", "required for a task step: a mapping with title, body, severity")
        else:
            c.unknown(task, {"title", "body", "severity"}, f"{path}.task")
            c.string(task, "title", f"{path}.task", required=True, max_len=500)
            c.string(task, "body", f"{path}.task", max_len=65_536)
            c.enum(task, "severity", f"{path}.task", SEVERITIES, required=False)
            c.template(task.get("title"), f"{path}.task.title", variables)
            c.template(task.get("body"), f"{path}.task.body", variables)
    elif task is not None:
        c.add(f"{path}.task", "only a task step has a task")
    if step.get("prompt") is not None and action not in ("prompt", "spawn"):
        c.add(f"{path}.prompt", "only spawn and prompt steps have a prompt")
    on_failure = step.get("onFailure", "fail")
    if not isinstance(on_failure, str) or not (
        on_failure in ("fail", "continue") or ((m := _RETRY.match(on_failure)) and 1 <= int(m.group(1)) <= MAX_RETRIES)
    ):
        c.add(f"{path}.onFailure", f"must be fail, continue or retry N (N = 1..{MAX_RETRIES})")
    timeout = step.get("timeoutMs")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0):
        c.add(f"{path}.timeoutMs", "must be a positive integer")


def _check_steps(c: _Checker, raw: Any, roles: set[str], variables: set[str]) -> None:
    if raw is None:
        c.add("steps", "required")
        return
    if not isinstance(raw, list) or not raw:
        c.add("steps", "must be a non-empty list")
        return
    if len(raw) > MAX_STEPS:
        c.add("steps", f"at most {MAX_STEPS} steps")
    ids: dict[str, int] = {}
    for i, step in enumerate(raw):
        if not isinstance(step, dict):
            c.add(f"steps[{i}]", "must be a mapping")
            continue
        sid = step.get("id")
        if not isinstance(sid, str) or not _STEP_ID.match(sid):
            c.add(f"steps[{i}].id", "required: letters, digits, dashes and underscores")
        elif sid in ids:
            c.add(f"steps[{i}].id", f'duplicate step id "{sid}" (also steps[{ids[sid]}])')
        else:
            ids[sid] = i
        _check_step(c, i, step, roles, variables)
    graph = _check_needs(c, raw, ids)
    cycle = _find_cycle(graph)
    if cycle:
        c.add(f"steps[{ids[cycle[0]]}].needs", "dependency cycle: " + " -> ".join(cycle))
        return
    _check_spawn_order(c, raw, graph, ids)


def _check_needs(c: _Checker, raw: list[Any], ids: dict[str, int]) -> dict[str, list[str]]:
    graph: dict[str, list[str]] = {}
    for i, step in enumerate(raw):
        if not isinstance(step, dict):
            continue
        needs = step.get("needs", [])
        if not isinstance(needs, list) or not all(isinstance(n, str) for n in needs):
            c.add(f"steps[{i}].needs", "must be a list of step ids")
            continue
        for need in needs:
            if need not in ids:
                c.add(f"steps[{i}].needs", f'unknown step "{need}"')
            elif need == step.get("id"):
                c.add(f"steps[{i}].needs", "a step cannot need itself")
        if isinstance(step.get("id"), str):
            graph[step["id"]] = [n for n in needs if n in ids and n != step["id"]]
    return graph


def _find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state and (found := visit(node)):
            return found
    return None


def _ancestors(graph: dict[str, list[str]], node: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph.get(node, []))
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(graph.get(n, []))
    return seen


def _check_spawn_order(c: _Checker, raw: list[Any], graph: dict[str, list[str]], ids: dict[str, int]) -> None:
    spawns: dict[str, list[tuple[int, str]]] = {}
    for i, step in enumerate(raw):
        if isinstance(step, dict) and step.get("action") == "spawn" and isinstance(step.get("id"), str):
            spawns.setdefault(str(step.get("role")), []).append((i, step["id"]))
    for role, found in spawns.items():
        for i, _ in found[1:]:
            c.add(f"steps[{i}].action", f'role "{role}" is already spawned by step "{found[0][1]}"')
    for i, step in enumerate(raw):
        if not isinstance(step, dict) or step.get("action") not in ("prompt", "task", "shutdown"):
            continue
        role = str(step.get("role"))
        spawn = spawns[role][0][1] if role in spawns else None
        if spawn is None:
            c.add(f"steps[{i}].role", f'role "{role}" has no spawn step')
        elif isinstance(step.get("id"), str) and spawn not in _ancestors(graph, step["id"]):
            c.add(f"steps[{i}].needs", f'must depend on "{spawn}", the step that spawns role "{role}"')


def validate(raw: Any, source: str) -> Recipe:
    """Check a parsed recipe document; raise `RecipeError` listing every problem."""
    c = _Checker(source)
    if not isinstance(raw, dict):
        raise RecipeError([f"{source}: a recipe must be a YAML mapping"])
    c.unknown(raw, {"name", "description", "parameters", "roles", "steps"}, "")
    name = raw.get("name")
    if name is None:
        c.add("name", "required")
    elif not isinstance(name, str) or not _NAME.match(name):
        c.add("name", "must be lowercase letters, digits and dashes (at most 80)")
    c.string(raw, "description", "")
    params = _check_parameters(c, raw.get("parameters"))
    variables = params | set(BUILTIN_VARIABLES)
    roles = _check_roles(c, raw.get("roles"), variables)
    _check_steps(c, raw.get("steps"), roles, variables)
    if c.errors:
        raise RecipeError(c.errors)
    doc = dict(raw)
    doc["parameters"] = [
        {**p, "default": None if p.get("default") is None else str(p["default"])} for p in raw.get("parameters") or []
    ]
    return msgspec.convert(doc, Recipe)


def parse(text: str, source: str) -> Recipe:
    """Parse YAML (safe_load only) and validate it."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise RecipeError([f"{source}: invalid YAML: {where}{problem}"]) from None
    return validate(raw, source)


def render(template: str, variables: dict[str, str]) -> str:
    """Fill `{{name}}` placeholders; the validator has made sure every name is known."""
    return _PLACEHOLDER.sub(lambda m: variables.get(m.group(1), ""), template)


if __name__ == "__main__":  # `python -m relay_model.recipes.schema FILE…` checks recipe files
    import sys

    failed = False
    for arg in sys.argv[1:]:
        try:
            with open(arg, encoding="utf-8") as fh:
                parse(fh.read(), arg)
            print(f"{arg}: ok")
        except RecipeError as err:
            failed = True
            print("\n".join(err.errors))
    raise SystemExit(1 if failed else 0)

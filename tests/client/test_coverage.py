"""The client stays in step with the server, and stays apart from it.

- Every operation of the served `/schema/openapi.json` is called by some client method (found by
  calling every public method with placeholder arguments and recording the request it makes), or
  is listed in LEFT_OUT with the reason; and no client method calls a route the schema lacks.
- The sync client is the generated twin of the async one (scripts/unasync.py) and is up to date.
- `relay_client` imports no server package, and no server package imports it.
"""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from relay_client import NO_RETRY, Client, RelayError
from tests.procs import ROOT

# (method, path template) -> why the client does not call it. Empty: the client covers every route.
LEFT_OUT: dict[tuple[str, str], str] = {}

SERVER_PACKAGES = ("relay_api", "relay_model", "relay_worker")


def placeholder(annotation: str) -> Any:
    """A value of the parameter's type, good enough to make the client build its request."""
    if annotation.startswith(("Mapping", "dict", "models.ProviderConfig")):
        return {}
    if annotation.startswith(("Sequence", "list")):
        return []
    if annotation.startswith("int"):
        return 1
    if annotation.startswith("bool"):
        return False
    return "x"


def public_calls(client: Client) -> list[tuple[str, Any]]:
    calls: list[tuple[str, Any]] = [(name, getattr(client, name)) for name in ("health", "healthz", "readyz", "whoami")]
    calls.append(("events", lambda: client.events().connect()))
    for area_name, area in vars(client).items():
        if area_name.startswith("_") or not hasattr(area, "_c"):
            continue
        for name, method in inspect.getmembers(area, inspect.ismethod):
            if not name.startswith("_"):
                calls.append((f"{area_name}.{name}", method))
    return calls


def call_with_placeholders(method: Any) -> None:
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for param in inspect.signature(method).parameters.values():
        if param.default is not inspect.Parameter.empty:
            continue
        value = placeholder(str(param.annotation))
        if param.kind is inspect.Parameter.KEYWORD_ONLY:
            kwargs[param.name] = value
        else:
            args.append(value)
    with pytest.raises(RelayError) as answered:
        method(*args, **kwargs)
    assert answered.value.status == 418, answered.value


def template_of(method: str, path: str, operations: set[tuple[str, str]]) -> tuple[str, str] | None:
    matches = []
    for op_method, template in operations:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if op_method == method and re.match(pattern, path):
            matches.append((template.count("{"), (op_method, template)))
    return min(matches)[1] if matches else None


def test_every_operation_is_called_by_the_client(url: str) -> None:
    schema = httpx.get(url + "/schema/openapi.json", timeout=10).json()
    operations = {
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    recorded: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        recorded.append(request)
        return httpx.Response(418, json={"error": "recorded"})

    called: dict[tuple[str, str], list[str]] = {}
    with Client("http://relay.test", "t", retry=NO_RETRY, transport=httpx.MockTransport(record)) as client:
        for name, method in public_calls(client):
            recorded.clear()
            call_with_placeholders(method)
            assert len(recorded) == 1, f"{name} made {len(recorded)} requests"
            request = recorded[0]
            op = template_of(request.method, request.url.path, operations)
            assert op is not None, f"{name} calls {request.method} {request.url.path}, which the schema lacks"
            called.setdefault(op, []).append(name)

    missing = operations - set(called) - set(LEFT_OUT)
    assert not missing, f"operations no client method calls (add one, or list it in LEFT_OUT): {sorted(missing)}"
    stale = set(LEFT_OUT) & set(called)
    assert not stale, f"LEFT_OUT names operations the client calls: {sorted(stale)}"
    assert set(LEFT_OUT) <= operations, "LEFT_OUT names operations the schema no longer has"


def test_sync_client_is_generated_from_the_async_one() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/unasync.py", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def _imports(package: Path) -> set[str]:
    found: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


def test_the_client_and_the_server_import_nothing_of_each_other() -> None:
    assert not _imports(ROOT / "relay_client") & set(SERVER_PACKAGES)
    for package in SERVER_PACKAGES:
        assert "relay_client" not in _imports(ROOT / package), package
    # And at run time: importing every client module loads no server module.
    probe = (
        "import sys, relay_client, relay_client.cli, relay_client.mcp.server; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {SERVER_PACKAGES!r}))"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr

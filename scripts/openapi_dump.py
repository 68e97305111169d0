"""Print the OpenAPI document `/schema/openapi.json` serves, as sorted JSON, for diffing two commits.

    .venv/bin/python scripts/openapi_dump.py > before.json      # on one commit
    .venv/bin/python scripts/openapi_dump.py > after.json       # on another
    diff before.json after.json

`--inline` replaces every `$ref` by the schema it names (and drops `components.schemas`), so two
documents that differ only in component names compare equal: the same paths, operations, parameters
and request/response shapes. Needs no Redis (the document is built without starting the app).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from relay_api.app import create_app
from relay_model.settings import Settings


def inline(node: Any, schemas: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name in seen:  # a recursive type: keep the reference's shape, not its name
                return {"$ref": "#recursive"}
            return inline(schemas[name], schemas, (*seen, name))
        return {key: inline(value, schemas, seen) for key, value in node.items()}
    if isinstance(node, list):
        return [inline(item, schemas, seen) for item in node]
    return node


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--inline", action="store_true", help="resolve every $ref (compare shapes, not names)")
    args = parser.parse_args()
    app = create_app(Settings(admin_token="x" * 32))
    document: dict[str, Any] = json.loads(json.dumps(app.openapi_schema.to_schema()))
    if args.inline:
        schemas = document.get("components", {}).pop("schemas", {})
        document = inline(document, schemas)
    json.dump(document, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

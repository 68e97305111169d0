"""The schema pages under `/schema`, served without any other host.

Litestar's bundled viewers (Swagger UI, ReDoc, Elements, RapiDoc, Scalar) load their scripts from a
CDN and stay blank offline. `/schema` (and `/schema/swagger`, the address the README always gave)
serves instead a small page of ours that loads the dashboard's own API viewer
(`static/js/views/api.js`) from this server; `/schema/openapi.json` and `/schema/openapi.yaml` are
the schema itself.
"""

from __future__ import annotations

import html
from typing import Any

from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin, YamlRenderPlugin

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} API</title>
  <link rel="icon" href="/icon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/style.css">
</head>
<body class="docs-page">
  <main id="docs" data-schema-url="{schema_url}" aria-live="polite"><p class="muted">Loading the API schema…</p></main>
  <script type="module" src="/js/docs-page.js"></script>
</body>
</html>
"""


class RelayDocsPlugin(OpenAPIRenderPlugin):
    """Our viewer of the OpenAPI schema: operations, parameters, schemas and a try-it form."""

    def __init__(self) -> None:
        super().__init__(path=["/", "/swagger", "/docs"])

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = str(openapi_schema.get("info", {}).get("title", "Agent Relay"))
        return PAGE.format(
            title=html.escape(title), schema_url=html.escape(self.get_openapi_json_route(request))
        ).encode()


def render_plugins() -> list[OpenAPIRenderPlugin]:
    return [RelayDocsPlugin(), JsonRenderPlugin(), YamlRenderPlugin()]

"""The dashboard shell and the schema pages as the server sends them: public, self-contained."""

from __future__ import annotations

import re

from litestar.testing import AsyncTestClient

Client = AsyncTestClient  # type: ignore[type-arg]
NO_AUTH = {"Authorization": ""}


async def test_the_schema_pages_load_nothing_from_another_host(client: Client) -> None:
    for path in ("/schema", "/schema/swagger", "/schema/docs"):
        r = await client.get(path, headers=NO_AUTH)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), path
        assert not re.search(r"(src|href)=\"(https?:)?//", r.text), path
        assert 'src="/js/docs-page.js"' in r.text and 'data-schema-url="/schema/openapi.json"' in r.text
    for asset in ("/js/docs-page.js", "/js/views/api.js", "/js/dom.js", "/style.css"):
        assert (await client.get(asset, headers=NO_AUTH)).status_code == 200, asset
    # Litestar's CDN-loaded viewers are not served.
    for gone in ("/schema/redoc", "/schema/elements", "/schema/rapidoc"):
        assert (await client.get(gone, headers=NO_AUTH)).status_code == 404, gone
    assert (await client.get("/schema/openapi.yaml", headers=NO_AUTH)).text.startswith(("openapi:", "components:", "info:"))


async def test_the_shell_is_public_and_served_with_the_right_types(client: Client) -> None:
    r = await client.get("/", headers=NO_AUTH)
    assert r.status_code == 200 and '<script src="/js/app.js" type="module">' in r.text
    js = await client.get("/js/app.js", headers=NO_AUTH)
    assert "javascript" in js.headers["content-type"]
    sw = await client.get("/sw.js", headers=NO_AUTH)
    assert sw.status_code == 200 and "javascript" in sw.headers["content-type"]
    manifest = await client.get("/manifest.webmanifest", headers=NO_AUTH)
    assert manifest.status_code == 200 and manifest.json()["start_url"] == "/"

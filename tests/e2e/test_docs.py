"""The API contract is published through the proxy: both documents, and a docs page whose
assets the stack serves itself (a browser with no internet renders it)."""

from __future__ import annotations

import json
import re

from tests.e2e.stack import ROOT, Stack


def test_both_documents_are_served_as_committed(stack: Stack) -> None:
    for url, committed in (
        ("/api/openapi.json", "tasks.json"),
        ("/api/auth/openapi.json", "auth.json"),
    ):
        response = stack.client.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"] == "application/json", url
        assert response.json() == json.loads((ROOT / "openapi" / committed).read_text()), url


def test_the_docs_page_and_every_asset_it_names_load_through_the_proxy(stack: Stack) -> None:
    page = stack.client.get("/api/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assets = re.findall(r'<(?:link|script)\b[^>]*\b(?:src|href)="([^"]+)"', page.text)
    assert all(asset.startswith("/api/docs/assets/") for asset in assets), assets
    types = {}
    for asset in assets:
        response = stack.client.get(asset)
        assert response.status_code == 200, asset
        types[asset.rpartition(".")[2]] = response.headers["content-type"].partition(";")[0]
    assert types == {"css": "text/css", "png": "image/png", "js": "text/javascript"}
    # The documents it loads are the two above, on the same origin.
    assert '"/api/openapi.json"' in page.text
    assert '"/api/auth/openapi.json"' in page.text

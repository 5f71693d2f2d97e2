"""The API documents and the docs page are served by the app, and one setting hides them."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from fastapi import FastAPI

from todo_tasks.main import create_tasks_app
from todo_tasks.settings import Settings

ClientFor = Callable[[FastAPI, str | None], httpx.AsyncClient]


async def test_the_document_and_the_docs_page_with_its_assets_are_served(
    app: FastAPI, client_for: ClientFor
) -> None:
    async with client_for(app, None) as client:
        document = await client.get("/api/openapi.json")
        page = await client.get("/api/docs")
        script = await client.get("/api/docs/assets/swagger-ui-bundle.js")
        style = await client.get("/api/docs/assets/swagger-ui.css")

    assert document.status_code == 200
    assert document.json()["info"]["title"] == "Todo tasks"
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for url in ("/api/openapi.json", "/api/auth/openapi.json", "/api/docs/assets/"):
        assert url in page.text
    assert "https://" not in page.text  # nothing from a CDN
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert style.status_code == 200
    assert style.headers["content-type"].startswith("text/css")


async def test_api_docs_off_serves_neither_document_nor_page(
    settings: Settings, client_for: ClientFor
) -> None:
    app = create_tasks_app(settings.model_copy(update={"api_docs": False}))
    async with client_for(app, None) as client:
        for path in ("/api/openapi.json", "/api/docs", "/api/docs/assets/swagger-ui.css"):
            assert (await client.get(path)).status_code == 404, path


async def test_every_request_body_has_an_example_the_service_accepts(
    as_alice: httpx.AsyncClient, alice: str
) -> None:
    """Swagger's "Try it out" sends these: real tasks, not strings made up from a pattern."""
    document = (await as_alice.get("/api/openapi.json")).json()
    schemas = document["components"]["schemas"]
    examples = {
        name: schemas[name]["examples"][0]
        for name in ("TaskCreate", "TaskUpdate", "TaskPatch", "TaskComplete")
    }
    created = await as_alice.post(f"/api/{alice}/tasks", json=examples["TaskCreate"])
    assert created.status_code == 201
    assert created.json()["title"] == "Buy milk"
    path = created.headers["location"]
    assert (await as_alice.put(path, json=examples["TaskUpdate"])).status_code == 200
    assert (await as_alice.patch(path, json=examples["TaskPatch"])).status_code == 200
    completed = await as_alice.patch(f"{path}/complete", json=examples["TaskComplete"])
    assert completed.status_code == 200

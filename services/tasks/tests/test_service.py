"""Operations: health, readiness, database outage, request ids, CORS, and the migrations."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import Connection, MetaData
from sqlmodel import SQLModel

from tests.support.issuer import TestIssuer
from todo_tasks.main import create_tasks_app
from todo_tasks.models import Task
from todo_tasks.settings import Settings


async def test_healthz_and_readyz(anonymous: httpx.AsyncClient) -> None:
    assert (await anonymous.get("/healthz")).json() == {"status": "ok"}
    ready = await anonymous.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "keys": "ok"}


@pytest.fixture
async def app_without_database(settings: Settings) -> AsyncIterator[FastAPI]:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://todo:todo-test@127.0.0.1:{port}/tasks"
    app = create_tasks_app(settings.model_copy(update={"database_url": url}))
    async with LifespanManager(app):
        yield app


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", ""), ("POST", ""), ("GET", "/1"), ("PATCH", "/1/complete"), ("DELETE", "/1")],
)
async def test_database_down_is_503_with_retry_after(
    app_without_database: FastAPI,
    client_for: Callable[[FastAPI, str | None], httpx.AsyncClient],
    issuer: TestIssuer,
    alice: str,
    method: str,
    path: str,
) -> None:
    body = {"title": "t"} if method == "POST" else None
    async with client_for(app_without_database, issuer.mint(alice)) as client:
        response = await client.request(method, f"/api/{alice}/tasks{path}", json=body)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json() == {"detail": "service temporarily unavailable"}
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["detail"]["database"] == "unreachable"


async def test_request_id_is_echoed(as_alice: httpx.AsyncClient, alice: str) -> None:
    response = await as_alice.get(f"/api/{alice}/tasks", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


async def test_cors_lets_the_front_end_read_paging_headers(
    anonymous: httpx.AsyncClient, alice: str
) -> None:
    response = await anonymous.options(
        f"/api/{alice}/tasks",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Authorization",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
    refused = await anonymous.options(
        f"/api/{alice}/tasks",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in refused.headers


async def test_migrations_match_the_models(app: FastAPI) -> None:
    """Alembic sees nothing to generate: the schema the migrations build is the models' schema."""
    metadata = MetaData()  # only this service's table, whatever else the test run imported
    SQLModel.metadata.tables[Task.__tablename__].to_metadata(metadata)

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with app.state.engine.connect() as conn:
        assert await conn.run_sync(differences) == []

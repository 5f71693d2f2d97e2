"""Fixtures of the tasks service tests: the app in-process on real PostgreSQL and Redis, tokens
from a test issuer serving its JWKS over HTTP, and two fresh users per test.

Every test gets new user ids, so the tests share one database without seeing each other's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.contract import Contract, contract_hooks
from tests.support.database import engine_for
from tests.support.issuer import TestIssuer
from todo_shared.migrations import upgrade_to_head
from todo_tasks.main import create_tasks_app
from todo_tasks.settings import Settings

MIGRATIONS_DIR = Path(__file__).parents[1] / "todo_tasks" / "migrations"


@pytest.fixture(scope="session")
def issuer() -> Iterator[TestIssuer]:
    with TestIssuer() as issuer:
        yield issuer


@pytest.fixture(scope="session")
def migrated_database(create_database: Callable[[str], str]) -> Callable[[str], str]:
    """Make a fresh database at the tasks service's latest migration and return its URL."""

    def create(prefix: str) -> str:
        url = create_database(prefix)
        upgrade_to_head(MIGRATIONS_DIR, url)
        return url

    return create


@pytest.fixture(scope="session")
def database_url(migrated_database: Callable[[str], str]) -> str:
    return migrated_database("tasks")


@pytest.fixture(scope="session")
def settings(database_url: str, redis_url: str, issuer: TestIssuer) -> Settings:
    return Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        jwks_url=issuer.jwks_url,
        jwt_issuer=issuer.issuer,
        jwt_audience=issuer.audience,
        jwks_redis_key=f"tasks-tests-{uuid.uuid4().hex}",
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_tasks_app(settings)
    async with LifespanManager(app):
        yield app


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """The tests' own way into the tasks database, beside the app's pool: to seed rows faster
    than the API can and to read back what a request did."""
    engine = engine_for(settings)
    yield engine
    await engine.dispose()


@cache
def _contract(app: FastAPI) -> Contract:
    return Contract(app.openapi())


def _client(app: FastAPI, token: str | None = None) -> httpx.AsyncClient:
    """Every response it receives is checked against the app's OpenAPI document."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://tasks.test",
        headers=headers,
        event_hooks=contract_hooks(_contract(app)),
    )


@pytest.fixture(scope="session")
def client_for() -> Callable[[FastAPI, str | None], httpx.AsyncClient]:
    """An in-process client of `app`, sending `token` as a bearer token when given."""
    return _client


@pytest.fixture
def alice() -> str:
    """A fresh user id, shaped like Better Auth's (a random string)."""
    return f"alice{uuid.uuid4().hex}"


@pytest.fixture
def bob() -> str:
    return f"bob{uuid.uuid4().hex}"


@pytest.fixture
async def as_alice(
    app: FastAPI, issuer: TestIssuer, alice: str
) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app, issuer.mint(alice)) as c:
        yield c


@pytest.fixture
async def as_bob(app: FastAPI, issuer: TestIssuer, bob: str) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app, issuer.mint(bob)) as c:
        yield c


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app) as c:
        yield c


@pytest.fixture
async def bob_task(as_bob: httpx.AsyncClient, bob: str) -> dict[str, Any]:
    """A task of the other user, which Alice must never reach."""
    response = await as_bob.post(f"/api/{bob}/tasks", json={"title": "Bob's", "description": "b"})
    assert response.status_code == 201
    task: dict[str, Any] = response.json()
    return task


@pytest.fixture
def snapshot(engine: AsyncEngine) -> Callable[[], Awaitable[list[Any]]]:
    """Every row of the table, to prove a refused request changed nothing."""

    async def rows() -> list[Any]:
        async with engine.connect() as conn:
            result = await conn.execute(text("SELECT * FROM tasks ORDER BY id"))
            return [tuple(row) for row in result]

    return rows

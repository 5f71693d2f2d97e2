"""Fixtures of the auth suite: a migrated database, the app in-process, clean state per test.

Helpers are fixtures (not an importable module) so that every test directory of the
workspace stays a plain pytest directory.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.contract import Contract, contract_hooks
from tests.support.database import engine_for
from tests.support.limits import RATE_LIMITS_OFF
from tests.support.ports import free_port
from todo_auth.cli import MIGRATIONS_DIR
from todo_auth.main import create_auth_app
from todo_auth.rate_limit import KEY_PREFIX
from todo_auth.settings import Settings
from todo_shared.migrations import upgrade_to_head

PASSWORD = "correct horse battery"
TRUSTED_PEER = ("127.0.0.1", 40000)  # the default trusted proxy: X-Forwarded-For is believed


@dataclass
class Service:
    app: FastAPI
    client: AsyncClient
    settings: Settings


StartService = Callable[..., AbstractAsyncContextManager[Service]]


async def migrated_database(create_database: Callable[[str], str]) -> str:
    url = create_database("auth")
    # Alembic runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(upgrade_to_head, MIGRATIONS_DIR, url)
    return url


@pytest.fixture(scope="session")
async def database_url(create_database: Callable[[str], str]) -> str:
    return await migrated_database(create_database)


@pytest.fixture(scope="session")
def base_settings(database_url: str, redis_url: str) -> Settings:
    """Fast bcrypt and no rate limits, except where a test is about them."""
    return Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        bcrypt_rounds=4,
        **RATE_LIMITS_OFF,
    )


@pytest.fixture
async def fresh_settings(
    base_settings: Settings, create_database: Callable[[str], str]
) -> Settings:
    """A database of its own (for tests about the signing keys), and no in-memory key cache."""
    database_url = await migrated_database(create_database)
    return base_settings.model_copy(update={"database_url": database_url, "key_cache_seconds": 0})


@pytest.fixture
def start_service(base_settings: Settings) -> StartService:
    """`async with start_service(settings=None, peer=..., **overrides) as service:` in a test."""

    @asynccontextmanager
    async def start(
        settings: Settings | None = None,
        *,
        peer: tuple[str, int] = TRUSTED_PEER,
        **overrides: Any,
    ) -> AsyncIterator[Service]:
        settings = (settings or base_settings).model_copy(update=overrides)
        app = create_auth_app(settings)
        async with (
            LifespanManager(app) as manager,
            AsyncClient(
                transport=ASGITransport(app=manager.app, client=peer),
                base_url="http://auth.test",
                # Every response is checked against the app's OpenAPI document.
                event_hooks=contract_hooks(Contract(app.openapi())),
            ) as client,
        ):
            yield Service(app=app, client=client, settings=settings)

    return start


@pytest.fixture(scope="session")
async def engine(base_settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = engine_for(base_settings)
    yield engine
    await engine.dispose()


@pytest.fixture(autouse=True)
async def clean_state(engine: AsyncEngine, redis_url: str) -> None:
    """Each test starts with no users and no rate-limit counters."""
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE users CASCADE"))
    redis = Redis.from_url(redis_url)
    keys = [key async for key in redis.scan_iter(f"{KEY_PREFIX}:*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


@pytest.fixture
async def service(start_service: StartService) -> AsyncIterator[Service]:
    async with start_service() as service:
        yield service


@pytest.fixture
def client(service: Service) -> AsyncClient:
    return service.client


@pytest.fixture
def scalar() -> Callable[..., Awaitable[Any]]:
    """`await scalar(engine, sql, **params)`: one value from the database."""

    async def query(engine: AsyncEngine, sql: str, **params: Any) -> Any:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar()

    return query


@pytest.fixture
def user_count(engine: AsyncEngine) -> Callable[[], Awaitable[int]]:
    async def count() -> int:
        async with engine.connect() as conn:
            return int((await conn.execute(text("SELECT count(*) FROM users"))).scalar_one())

    return count


@pytest.fixture
def signup() -> Callable[..., Awaitable[dict[str, Any]]]:
    """`await signup(client, email, password=PASSWORD)`, asserting the 201."""

    async def sign_up(client: AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
        response = await client.post(
            "/api/auth/signup", json={"email": email, "password": password}
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    return sign_up


@pytest.fixture
def login() -> Callable[..., Awaitable[str]]:
    """`await login(client, email, password=PASSWORD)`: the access token, asserting the 200."""

    async def log_in(client: AsyncClient, email: str, password: str = PASSWORD) -> str:
        response = await client.post("/api/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    return log_in


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on."""
    return free_port()

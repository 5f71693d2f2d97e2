"""Operations: health, request ids, CORS, production settings, database outage, bcrypt storms."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from httpx import ASGITransport, AsyncClient
from passlib.context import CryptContext
from pydantic import ValidationError
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from tests.support.database import engine_for
from todo_auth.cli import MIGRATIONS_DIR
from todo_auth.models import RefreshToken, Session, SigningKey, User
from todo_auth.settings import Settings
from todo_auth.state import AuthState
from todo_shared.app import service_state
from todo_shared.migrations import alembic_config

Fixture = Callable[..., Any]

PASSWORD = "correct horse battery"
PRODUCTION_DB = "postgresql://todo:s3cure-db-pass@db.example:5432/auth"


async def test_health_and_readiness(client: AsyncClient) -> None:
    health = await client.get("/healthz")
    ready = await client.get("/readyz")

    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok"}


async def test_request_id_is_honoured_or_generated(client: AsyncClient) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "req-123"})
    generated = await client.get("/healthz")

    assert given.headers["x-request-id"] == "req-123"
    assert len(generated.headers["x-request-id"]) >= 16


async def test_cors_allows_configured_origins_only(start_service: Fixture) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    async with start_service(cors_origins=["https://app.example"]) as service:
        allowed = await service.client.options(
            "/api/auth/login", headers={"Origin": "https://app.example", **preflight}
        )
        refused = await service.client.options(
            "/api/auth/login", headers={"Origin": "https://evil.example", **preflight}
        )

    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in refused.headers


async def test_cors_names_only_the_auth_service_s_own_headers(client: AsyncClient) -> None:
    """The tasks service's headers (an idempotency key, paging) are not the auth service's."""
    origin = {"Origin": "http://localhost:3000"}
    keyed = await client.options(
        "/api/auth/login",
        headers={
            **origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Idempotency-Key",
        },
    )
    answered = await client.get("/healthz", headers=origin)

    assert keyed.status_code == 400  # Starlette: "Disallowed CORS headers"
    exposed = {h.strip() for h in answered.headers["access-control-expose-headers"].split(",")}
    assert exposed == {"X-Request-ID", "Retry-After"}


async def test_oversized_body_is_413_and_changes_nothing(
    start_service: Fixture, user_count: Fixture
) -> None:
    async with start_service(max_body_bytes=1024) as service:
        response = await service.client.post(
            "/api/auth/signup", json={"email": "big@example.com", "password": "p" * 2000}
        )

    assert response.status_code == 413
    assert await user_count() == 0


def production(**values: Any) -> Settings:
    return Settings(_env_file=None, environment="production", **values)


def test_production_refuses_a_placeholder_key_secret() -> None:
    with pytest.raises(ValidationError, match="KEY_ENCRYPTION_SECRET"):
        production(database_url=PRODUCTION_DB)
    with pytest.raises(ValidationError, match="KEY_ENCRYPTION_SECRET"):
        production(database_url=PRODUCTION_DB, key_encryption_secret="changethis-please-123")

    accepted = production(database_url=PRODUCTION_DB, key_encryption_secret="k" * 40)
    assert accepted.environment == "production"


def test_bcrypt_cost_defaults_to_12() -> None:
    assert Settings(_env_file=None).bcrypt_rounds == 12


async def test_database_down_is_a_quick_503(start_service: Fixture, closed_port: int) -> None:
    down = f"postgresql://todo:todo-test@127.0.0.1:{closed_port}/auth"
    async with start_service(database_url=down, db_connect_timeout_seconds=2) as service:
        client = service.client
        started = time.perf_counter()
        responses = [
            await client.post(
                "/api/auth/signup", json={"email": "a@example.com", "password": PASSWORD}
            ),
            await client.post(
                "/api/auth/login", json={"email": "a@example.com", "password": PASSWORD}
            ),
            await client.get("/api/auth/jwks"),
            await client.get("/readyz"),
        ]
        elapsed = time.perf_counter() - started
        health = await client.get("/healthz")

    for response in responses:
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "5"
        assert "Traceback" not in response.text
    assert responses[0].json() == {"detail": "service temporarily unavailable"}
    assert health.status_code == 200
    # Refused connections fail at once; nothing waits for the connect timeout per request.
    assert elapsed < 4 * service.settings.db_connect_timeout_seconds


async def test_health_answers_while_bcrypt_storms(start_service: Fixture) -> None:
    """Hashing runs off the event loop: /healthz never waits behind a bcrypt hash."""
    context = CryptContext(schemes=["bcrypt"], bcrypt__rounds=12)
    started = time.perf_counter()
    context.hash(PASSWORD)
    one_hash = time.perf_counter() - started

    async with start_service(bcrypt_rounds=12, bcrypt_max_concurrency=2) as service:
        client = service.client
        storm = asyncio.gather(
            *(
                client.post(
                    "/api/auth/signup",
                    json={"email": f"storm{i}@example.com", "password": PASSWORD},
                )
                for i in range(8)
            )
        )
        await asyncio.sleep(0.05)  # let the storm reach bcrypt
        latencies = []
        for _ in range(10):
            probe = time.perf_counter()
            assert (await client.get("/healthz")).status_code == 200
            latencies.append(time.perf_counter() - probe)
            await asyncio.sleep(0.02)
        still_hashing = not storm.done()
        statuses = [response.status_code for response in await storm]

    assert still_hashing  # the probes ran during the storm, not after it
    assert statuses == [201] * 8
    # On the loop, a probe would wait for at least one whole hash (~0.25 s at cost 12).
    assert max(latencies) < min(0.2, one_hash / 2), (latencies, one_hash)


async def test_queued_hashes_hold_no_database_connection(
    start_service: Fixture, signup: Fixture
) -> None:
    """A signup or login waiting for a bcrypt thread has handed its connection back.

    One pooled connection, one bcrypt thread and a 1 s pool wait: if each request held its
    connection while its hash queued (~0.25 s each at cost 12), the later ones would time out
    waiting for the pool and answer 503.
    """
    async with start_service(
        bcrypt_rounds=12,
        bcrypt_max_concurrency=1,
        db_pool_size=1,
        db_connect_timeout_seconds=1,
    ) as service:
        client = service.client
        await signup(client, "known@example.com")
        requests = [
            client.post(
                "/api/auth/login", json={"email": "known@example.com", "password": PASSWORD}
            )
            for _ in range(4)
        ] + [
            client.post(
                "/api/auth/signup", json={"email": f"new{i}@example.com", "password": PASSWORD}
            )
            for i in range(4)
        ]
        statuses = [response.status_code for response in await asyncio.gather(*requests)]

    assert statuses == [200] * 4 + [201] * 4


async def test_the_user_is_committed_before_the_response_is_sent(
    service: Any, signup: Fixture
) -> None:
    """A client holding a 201 can rely on the row: the insert has committed (a statement
    outside a transaction commits when it returns) before the response starts."""
    events: list[str] = []

    async def recording_app(scope: Any, receive: Any, send: Any) -> None:
        async def recording_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                events.append("response")
            await send(message)

        await service.app(scope, receive, recording_send)

    database = service_state(service.app, AuthState).database
    fetchrow = database.fetchrow

    async def recorded(query: str, *args: Any) -> Any:
        row = await fetchrow(query, *args)
        if query.startswith("INSERT INTO users"):
            events.append("committed")
        return row

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(database, "fetchrow", recorded)
        async with AsyncClient(
            transport=ASGITransport(app=recording_app), base_url="http://auth.test"
        ) as client:
            await signup(client, "ordered@example.com")

    assert events[-2:] == ["committed", "response"]


async def test_migrations_match_the_models(engine: AsyncEngine) -> None:
    metadata = MetaData()
    for model in (User, SigningKey, Session, RefreshToken):
        SQLModel.metadata.tables[model.__tablename__].to_metadata(metadata)

    def diff(connection: Any) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(connection), metadata))

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_migration_0003_makes_stored_emails_canonical(
    create_database: Callable[[str], str],
) -> None:
    """Rows from before: a confusable spelling becomes canonical, unless its canonical form
    belongs to another account already (that row keeps its spelling)."""
    url = create_database("auth")
    config = alembic_config(MIGRATIONS_DIR, url)
    await asyncio.to_thread(command.upgrade, config, "0002")
    engine = engine_for(Settings(_env_file=None, database_url=url, environment="test"))
    stored = ["\uff41da@example.com", "bob@example.com", "\uff42ob@example.com", "eve@example.com"]
    async with engine.begin() as conn:
        for email in stored:
            await conn.execute(
                text("INSERT INTO users (id, email, password_hash) VALUES (:id, :email, 'x')"),
                {"id": uuid.uuid4(), "email": email},
            )

    await asyncio.to_thread(command.upgrade, config, "head")

    async with engine.connect() as conn:
        emails = (await conn.execute(text("SELECT email FROM users ORDER BY email"))).scalars()
        assert sorted(emails) == sorted(
            ["ada@example.com", "bob@example.com", "\uff42ob@example.com", "eve@example.com"]
        )
    await engine.dispose()

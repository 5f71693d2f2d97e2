"""Operations: health, readiness, database outage, request ids, CORS, and the migrations."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import Connection, MetaData, create_engine, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from tests.support.issuer import TestIssuer
from tests.support.ports import free_port
from todo_shared.migrations import migration_lock_id
from todo_shared.settings import TrustedIssuer
from todo_tasks.cli import MIGRATIONS_DIR
from todo_tasks.main import create_tasks_app
from todo_tasks.models import (
    Task,
    TaskCount,
    TaskIdempotencyKey,
    TaskList,
    TaskListCount,
    TaskSync,
    TaskTombstone,
    TaskTrash,
)
from todo_tasks.settings import Settings


async def test_healthz_and_readyz(anonymous: httpx.AsyncClient, issuer: TestIssuer) -> None:
    assert (await anonymous.get("/healthz")).json() == {"status": "ok"}
    ready = await anonymous.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "keys": {issuer.issuer: "ok"}}


@pytest.mark.parametrize(
    ("down", "status"), [pytest.param(1, 200, id="one down"), pytest.param(2, 503, id="all down")]
)
async def test_readyz_fails_only_when_no_issuer_is_usable(
    settings: Settings,
    client_for: Callable[[FastAPI, str | None], httpx.AsyncClient],
    down: int,
    status: int,
) -> None:
    """A failing front-end issuer must not take API clients' tasks out of the load balancer."""
    with TestIssuer() as first, TestIssuer() as second:
        for failing in [second, first][:down]:
            failing.failing = True
        trusted = [
            TrustedIssuer(issuer=i.issuer, jwks_url=i.jwks_url, audience=i.audience)
            for i in (first, second)
        ]
        app = create_tasks_app(settings.model_copy(update={"jwt_issuers": trusted}))
        async with LifespanManager(app), client_for(app, None) as client:
            ready = await client.get("/readyz")

    assert ready.status_code == status
    body = ready.json()
    keys = body["checks"]["keys"] if status == 200 else body["detail"]["keys"]
    assert keys == {
        first.issuer: "keys unavailable" if down == 2 else "ok",
        second.issuer: "keys unavailable",
    }


@pytest.fixture
async def app_without_database(settings: Settings) -> AsyncIterator[FastAPI]:
    url = f"postgresql://todo:todo-test@127.0.0.1:{free_port()}/tasks"  # nothing listens
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


async def test_cors_lets_the_front_end_send_keys_and_read_paging_headers(
    anonymous: httpx.AsyncClient, as_alice: httpx.AsyncClient, alice: str
) -> None:
    response = await anonymous.options(
        f"/api/{alice}/tasks",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Idempotency-Key, If-Match, "
            "If-None-Match, Last-Event-ID",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
    listed = await as_alice.get(f"/api/{alice}/tasks", headers={"Origin": "http://localhost:3000"})
    exposed = {name.strip() for name in listed.headers["access-control-expose-headers"].split(",")}
    assert exposed >= {"X-Total-Count", "X-Next-Cursor", "Location", "Idempotent-Replayed", "ETag"}
    refused = await anonymous.options(
        f"/api/{alice}/tasks",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in refused.headers


async def test_migrations_match_the_models(engine: AsyncEngine) -> None:
    """Alembic sees nothing to generate: the schema the migrations build is the models' schema."""
    metadata = MetaData()  # only this service's tables, whatever else the test run imported
    for model in (
        Task,
        TaskCount,
        TaskListCount,
        TaskIdempotencyKey,
        TaskList,
        TaskSync,
        TaskTombstone,
        TaskTrash,
    ):
        SQLModel.metadata.tables[model.__tablename__].to_metadata(metadata)

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with engine.connect() as conn:
        assert await conn.run_sync(differences) == []


def test_replicas_starting_together_migrate_one_at_a_time(
    create_database: Callable[[str], str], tmp_path: Path
) -> None:
    """`serve` migrates before it serves; replicas starting together queue on one lock.

    The test holds that lock while three replicas start, plus one running the same migrations
    from another folder (a checkout beside an image): each must be seen waiting for it (not
    racing to create the same tables), and each must succeed once it is released.
    """
    url = create_database("tasks_race")
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    lock = {"id": migration_lock_id("todo_tasks")}
    elsewhere = shutil.copytree(MIGRATIONS_DIR, tmp_path / "migrations")
    command = [sys.executable, "-c", "from todo_tasks.cli import main; main(['migrate'])"]
    from_elsewhere = [
        sys.executable,
        "-c",
        "import sys; from pathlib import Path; from todo_shared.migrations import upgrade_to_head;"
        " upgrade_to_head(Path(sys.argv[1]), sys.argv[2])",
        str(elsewhere),
        url,
    ]
    environment = {**os.environ, "DATABASE_URL": url, "ENVIRONMENT": "test"}
    waiting_for_lock = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event = 'advisory'"
    )
    with engine.connect() as holder, engine.connect() as observer:
        holder.execute(text("SELECT pg_advisory_lock(:id)"), lock)
        # Run outside the checkout, so a developer's `.env` does not reach them.
        replicas = [subprocess.Popen(command, env=environment, cwd=tmp_path) for _ in range(3)]
        replicas.append(subprocess.Popen(from_elsewhere, env=environment, cwd=tmp_path))
        deadline = time.monotonic() + 60
        while observer.execute(waiting_for_lock).scalar_one() < len(replicas):
            observer.rollback()  # a fresh snapshot of pg_stat_activity
            assert time.monotonic() < deadline, "replicas never queued on the migration lock"
            assert all(replica.poll() is None for replica in replicas), "a replica did not wait"
            time.sleep(0.1)
        holder.execute(text("SELECT pg_advisory_unlock(:id)"), lock)
        assert [replica.wait(timeout=120) for replica in replicas] == [0] * len(replicas)
        versions = observer.execute(text("SELECT version_num FROM alembic_version")).scalars()
        assert versions.all() == [ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()]
    engine.dispose()

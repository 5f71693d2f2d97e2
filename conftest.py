"""Fixtures every test suite shares: one real PostgreSQL and one real Redis container.

Image names come from the same variables compose reads (see scripts/offline-images.sh), so
the suites also run where the official images cannot be pulled.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, text
from testcontainers.community.postgres import PostgresContainer
from testcontainers.community.redis import RedisContainer

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresContainer]:
    image = os.environ.get("POSTGRES_IMAGE", "postgres:17")
    with PostgresContainer(
        image, username="todo", password="todo-test", dbname="todo", driver=None
    ) as container:
        yield container


@pytest.fixture(scope="session")
def create_database(postgres_server: PostgresContainer) -> Callable[[str], str]:
    """Make a fresh, empty database and return its libpq-style URL (as compose passes)."""
    admin_url = postgres_server.get_connection_url(driver="psycopg")

    def create(prefix: str) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return postgres_server.get_connection_url(driver=None).rsplit("/", 1)[0] + f"/{name}"

    return create


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisContainer]:
    with RedisContainer(os.environ.get("REDIS_IMAGE", "redis:7")) as container:
        yield container


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisContainer) -> str:
    host = redis_server.get_container_host_ip()
    port = redis_server.get_exposed_port(6379)
    return f"redis://{host}:{port}/0"

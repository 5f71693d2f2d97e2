"""PostgreSQL restarting under concurrent load: each service answers 2xx or 503, never 500.

A restart kills every pooled connection mid-statement, and a dying connection raises a whole
family of driver errors (refused connects, resets, "connection is closed", asyncpg's "cannot
switch to state"), all of which must read as an outage. The database is a container of its
own, on a fixed host port so that a restart keeps its address.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import create_engine, text
from testcontainers.community.postgres import PostgresContainer

from tests.support.issuer import TestIssuer
from tests.support.limits import RATE_LIMITS_OFF
from tests.support.ports import free_port
from todo_auth.cli import MIGRATIONS_DIR as AUTH_MIGRATIONS
from todo_auth.main import create_auth_app
from todo_auth.settings import Settings as AuthSettings
from todo_shared.migrations import upgrade_to_head
from todo_tasks.cli import MIGRATIONS_DIR as TASKS_MIGRATIONS
from todo_tasks.main import create_tasks_app
from todo_tasks.settings import Settings as TasksSettings

WORKERS = 16  # concurrent clients per service
PASSWORD = "correct horse battery"
RECOVERY_SECONDS = 60.0  # the bound on the whole wait for the database to come back

Request = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


@pytest.fixture(scope="module")
def restartable_postgres() -> Iterator[PostgresContainer]:
    image = os.environ.get("POSTGRES_IMAGE", "postgres:17")
    container = PostgresContainer(
        image, username="todo", password="todo-test", dbname="todo", driver=None
    ).with_bind_ports(5432, free_port())
    with container:
        yield container


def make_database(server: PostgresContainer, name: str) -> str:
    engine = create_engine(
        server.get_connection_url(driver="psycopg"), isolation_level="AUTOCOMMIT"
    )
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return server.get_connection_url(driver=None).rsplit("/", 1)[0] + f"/{name}"


async def run_load(
    services: list[tuple[httpx.AsyncClient, Request]], stop: asyncio.Event
) -> list[Counter[int]]:
    """WORKERS loops per service, sending its request until `stop`; the statuses each saw."""
    seen = [Counter[int]() for _ in services]

    async def worker(index: int) -> None:
        client, request = services[index]
        while not stop.is_set():
            try:
                response = await request(client)
            except httpx.TransportError:  # an in-process app raising would be a 500 instead
                seen[index][-1] += 1
                continue
            seen[index][response.status_code] += 1

    await asyncio.gather(*(worker(i) for i in range(len(services)) for _ in range(WORKERS)))
    return seen


async def recovered(client: httpx.AsyncClient, request: Request) -> int:
    """The first non-503 status once the database is back (bounded by RECOVERY_SECONDS)."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    while True:
        status = (await request(client)).status_code
        if status != 503 or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.2)


@pytest.fixture
async def clients(
    restartable_postgres: PostgresContainer, redis_url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, TestIssuer]]:
    auth_url = make_database(restartable_postgres, "auth")
    tasks_url = make_database(restartable_postgres, "tasks")
    await asyncio.to_thread(upgrade_to_head, AUTH_MIGRATIONS, auth_url)
    await asyncio.to_thread(upgrade_to_head, TASKS_MIGRATIONS, tasks_url)
    common: dict[str, Any] = {
        "environment": "test",
        "redis_url": redis_url,
        "db_connect_timeout_seconds": 2.0,
    }
    auth_app = create_auth_app(
        AuthSettings(
            _env_file=None,
            database_url=auth_url,
            bcrypt_rounds=4,
            **RATE_LIMITS_OFF,
            **common,
        )
    )
    with TestIssuer() as issuer:
        tasks_app = create_tasks_app(
            TasksSettings(
                _env_file=None,
                database_url=tasks_url,
                jwks_url=issuer.jwks_url,
                jwt_issuer=issuer.issuer,
                jwt_audience=issuer.audience,
                jwks_redis_key=f"restart-{uuid.uuid4().hex}",
                **common,
            )
        )
        async with AsyncExitStack() as stack:
            clients = []
            for app, base in ((auth_app, "http://auth.test"), (tasks_app, "http://tasks.test")):
                manager = await stack.enter_async_context(LifespanManager(app))
                clients.append(
                    await stack.enter_async_context(
                        httpx.AsyncClient(
                            transport=httpx.ASGITransport(app=manager.app), base_url=base
                        )
                    )
                )
            yield clients[0], clients[1], issuer


async def test_a_database_restart_under_load_gives_503s_never_500s(
    restartable_postgres: PostgresContainer,
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient, TestIssuer],
) -> None:
    auth, tasks, issuer = clients
    user = f"user{uuid.uuid4().hex}"
    headers = {"Authorization": f"Bearer {issuer.mint(user)}"}
    credentials = {"email": "r@example.com", "password": PASSWORD}
    signup = await auth.post("/api/auth/signup", json=credentials)
    assert signup.status_code == 201

    async def login(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/api/auth/login", json=credentials)

    async def create_and_list(client: httpx.AsyncClient) -> httpx.Response:
        created = await client.post(f"/api/{user}/tasks", json={"title": "t"}, headers=headers)
        if created.status_code != 201:
            return created
        return await client.get(f"/api/{user}/tasks?limit=5", headers=headers)

    services: list[tuple[httpx.AsyncClient, Request]] = [(auth, login), (tasks, create_and_list)]
    stop = asyncio.Event()
    load = asyncio.create_task(run_load(services, stop))
    await asyncio.sleep(1.0)  # every pooled connection is in use when the database goes
    await asyncio.to_thread(restartable_postgres.get_wrapped_container().restart, timeout=5)
    statuses_after = [await recovered(client, request) for client, request in services]
    await asyncio.sleep(1.0)  # and a moment of load on the recovered database
    stop.set()
    auth_seen, tasks_seen = await load

    assert statuses_after == [200, 200]
    for seen in (auth_seen, tasks_seen):
        assert seen[500] == 0, seen
        assert set(seen) <= {200, 503}, seen
        assert seen[503] > 0, seen  # the restart was seen, so the test proved something

"""The tasks service's connection pool: asyncpg directly, without SQLAlchemy on the request path.

Measured on the list endpoint (20 rows, one worker): an AsyncSession per request (checkout,
BEGIN, query, COMMIT, checkin through SQLAlchemy's greenlet bridge) took about 1,550 us of CPU
per request against about 700 us with this pool, which is more than everything else the request
does, token verification included. Every endpoint issues exactly one SQL statement, so
autocommit still makes each request a single transaction. SQLModel and Alembic still own the
schema, and `/readyz` asks this pool too: the service has no SQLAlchemy engine.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from todo_shared.db import asyncpg_connect_args
from todo_shared.errors import ServiceUnavailable, is_outage
from todo_shared.settings import ServiceSettings

logger = logging.getLogger("todo.tasks.database")


class Database:
    """Runs one statement on a pooled connection; an outage becomes a 503 with Retry-After."""

    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float, retry_after: int) -> None:
        self._pool = pool
        self._acquire_timeout = acquire_timeout
        self._retry_after = retry_after

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
        try:
            async with self._pool.acquire(timeout=self._acquire_timeout) as connection:
                try:
                    yield connection
                except Exception as exc:
                    # A statement timeout leaves the connection usable (asyncpg cancels the
                    # statement); any other outage left it broken, and a restart broke the
                    # idle ones too: close it, and have the pool replace the rest.
                    if is_outage(exc) and not isinstance(exc, TimeoutError):
                        connection.terminate()
                        await self._pool.expire_connections()
                    raise
        except Exception as exc:
            if not is_outage(exc):
                raise
            logger.warning("database unavailable", extra={"error": type(exc).__name__})
            raise ServiceUnavailable(self._retry_after) from None

    async def fetch(self, query: str, *args: Any) -> list[Any]:
        async with self._connection() as connection:
            rows: list[Any] = await connection.fetch(query, *args)
            return rows

    async def fetchrow(self, query: str, *args: Any) -> Any:
        async with self._connection() as connection:
            return await connection.fetchrow(query, *args)

    async def fetchval(self, query: str, *args: Any) -> Any:
        async with self._connection() as connection:
            return await connection.fetchval(query, *args)


async def _keep_session(_: Any) -> None:
    """Return a connection to the pool as it is (asyncpg still rolls back an open transaction).

    The default reset (`RESET ALL; UNLISTEN *; ...`) is a round trip per request, and there is
    nothing to undo: these statements never change session state.
    """


@asynccontextmanager
async def open_database(settings: ServiceSettings) -> AsyncIterator[Database]:
    """The pool for a service's lifetime. Connections open on first use, so a database that is
    down at start-up makes requests answer 503 instead of keeping the service from starting."""
    url, connect_args = asyncpg_connect_args(settings)
    pool = await asyncpg.create_pool(
        url.replace("postgresql+asyncpg://", "postgresql://", 1),
        min_size=0,
        max_size=settings.db_pool_size + settings.db_max_overflow,
        reset=_keep_session,
        **connect_args,
    )
    try:
        yield Database(
            pool,
            acquire_timeout=settings.db_connect_timeout_seconds,
            retry_after=settings.retry_after_seconds,
        )
    finally:
        await pool.close()

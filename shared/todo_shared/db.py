"""Both services' way into PostgreSQL: an asyncpg pool that runs one statement per call (or a
transaction when a caller needs one), turning an outage into a 503, and libpq URL handling.

asyncpg directly, without SQLAlchemy on the request path. Measured on the tasks list (20 rows,
one worker): an AsyncSession per request (checkout, BEGIN, query, COMMIT, checkin through
SQLAlchemy's greenlet bridge) took about 1,550 us of CPU per request against about 700 us with
this pool, more than everything else the request does, token verification included. A
statement outside a transaction commits on its own, so a single-statement request is a single
transaction. SQLModel and Alembic still own the schemas and the migrations.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from todo_shared.errors import ServiceUnavailable, is_outage
from todo_shared.metrics import DB_POOL_IN_USE, DB_POOL_MAX, DB_POOL_WAITING, DB_UNAVAILABLE
from todo_shared.settings import ServiceSettings

logger = logging.getLogger("todo.database")

_SSL_MODES_WITHOUT_VERIFY = {"require", "prefer", "allow"}
# libpq options that asyncpg does not take as URL parameters; Neon's strings carry some.
_LIBPQ_ONLY = {"sslmode", "channel_binding", "sslrootcert", "options", "connect_timeout"}
# How often the pool's gauges are set (the metrics endpoint reads them from another process).
POOL_SAMPLE_SECONDS = 1.0


def asyncpg_url(database_url: str) -> tuple[str, dict[str, Any]]:
    """Turn a libpq-style URL (as Neon and compose give) into an asyncpg URL and connect args."""
    parts = urlsplit(database_url)
    scheme = "postgresql+asyncpg"
    query = dict(parse_qsl(parts.query))
    connect_args: dict[str, Any] = {}
    sslmode = query.get("sslmode")
    if sslmode in _SSL_MODES_WITHOUT_VERIFY:
        connect_args["ssl"] = "require" if sslmode == "require" else sslmode
    elif sslmode in {"verify-ca", "verify-full"}:
        context = ssl.create_default_context(cafile=query.get("sslrootcert"))
        context.check_hostname = sslmode == "verify-full"
        connect_args["ssl"] = context
    kept = {key: value for key, value in query.items() if key not in _LIBPQ_ONLY}
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(kept), "")), connect_args


def asyncpg_connect_args(settings: ServiceSettings) -> tuple[str, dict[str, Any]]:
    """The SQLAlchemy asyncpg URL and the `asyncpg.connect` arguments every connection uses:
    connects and statements time out instead of hanging."""
    url, connect_args = asyncpg_url(settings.database_url)
    connect_args |= {
        "timeout": settings.db_connect_timeout_seconds,
        "command_timeout": settings.db_statement_timeout_seconds,
        # Poolers in transaction mode (Neon's pooled endpoint, PgBouncer) cannot keep
        # server-side prepared statements per client connection.
        "statement_cache_size": 0 if "-pooler" in url or "pgbouncer" in url else 100,
    }
    return url, connect_args


class Queries(Protocol):
    """What a repository runs statements on: the pool (each call its own transaction) or the
    asyncpg connection `Database.transaction()` yields."""

    async def fetch(self, query: str, *args: Any) -> list[Any]: ...

    async def fetchrow(self, query: str, *args: Any) -> Any: ...

    async def fetchval(self, query: str, *args: Any) -> Any: ...


class Database:
    """Runs statements on pooled connections; an outage becomes a 503 with Retry-After."""

    def __init__(self, pool: asyncpg.Pool, *, acquire_timeout: float, retry_after: int) -> None:
        self._pool = pool
        self._acquire_timeout = acquire_timeout
        self._retry_after = retry_after
        self._waiting = 0  # callers in acquire(): asyncpg does not say

    def sample_pool(self) -> None:
        """Set the pool's gauges: per call a plain count, the gauges once in a while, so a
        statement costs no metric writes."""
        DB_POOL_IN_USE.set(self._pool.get_size() - self._pool.get_idle_size())
        DB_POOL_WAITING.set(self._waiting)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
        self._waiting += 1
        waiting = True
        try:
            async with self._pool.acquire(timeout=self._acquire_timeout) as connection:
                self._waiting -= 1
                waiting = False
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
            DB_UNAVAILABLE.inc()
            raise ServiceUnavailable(self._retry_after) from None
        finally:
            if waiting:  # acquire() failed
                self._waiting -= 1

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Queries]:
        """One connection and one transaction: committed when the block ends, else rolled
        back. For work that must see its own reads (a lock, then a check, then a write)."""
        async with self._connection() as connection, connection.transaction():
            yield connection

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Queries]:
        """One read-only transaction whose statements all see the same committed state."""
        async with (
            self._connection() as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            yield connection

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


def _dsn(settings: ServiceSettings) -> tuple[str, dict[str, Any]]:
    """asyncpg's own DSN (not SQLAlchemy's URL) and its connect arguments."""
    url, connect_args = asyncpg_connect_args(settings)
    return url.replace("postgresql+asyncpg://", "postgresql://", 1), connect_args


def connector(settings: ServiceSettings) -> Callable[[], Awaitable[asyncpg.Connection]]:
    """Opens one connection outside the pool (for LISTEN, which holds it for good)."""
    dsn, connect_args = _dsn(settings)
    return lambda: asyncpg.connect(dsn, **connect_args)


@asynccontextmanager
async def open_database(settings: ServiceSettings) -> AsyncIterator[Database]:
    """The pool for a service's lifetime (or a command's). Connections open on first use, so a
    database that is down at start-up makes requests answer 503 instead of keeping the service
    from starting, and close after five idle minutes."""
    dsn, connect_args = _dsn(settings)
    pool = await asyncpg.create_pool(
        dsn,
        min_size=0,
        max_size=settings.db_pool_size,
        reset=_keep_session,
        **connect_args,
    )
    database = Database(
        pool,
        acquire_timeout=settings.db_connect_timeout_seconds,
        retry_after=settings.retry_after_seconds,
    )
    DB_POOL_MAX.set(settings.db_pool_size)
    sampler = asyncio.create_task(_sample(database), name="db pool gauges")
    try:
        yield database
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        await pool.close()


async def _sample(database: Database) -> None:
    while True:
        database.sample_pool()
        await asyncio.sleep(POOL_SAMPLE_SECONDS)

"""Connecting to PostgreSQL: libpq URLs for asyncpg, and a pooled SQLAlchemy engine for a service
(auth) or a tool that wants one."""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from todo_shared.errors import is_outage
from todo_shared.settings import ServiceSettings

_SSL_MODES_WITHOUT_VERIFY = {"require", "prefer", "allow"}
# libpq options that asyncpg does not take as URL parameters; Neon's strings carry some.
_LIBPQ_ONLY = {"sslmode", "channel_binding", "sslrootcert", "options", "connect_timeout"}


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


def _drop_broken_connections(context: ExceptionContext) -> None:
    """Treat every outage error as a disconnect, so the connection (and the rest of the pool,
    which a database restart broke as well) is discarded instead of being handed to the next
    request. The asyncpg dialect itself only recognises "connection is closed". A statement
    timeout is the exception: asyncpg cancels the statement and the connection stays good."""
    error = context.original_exception
    if is_outage(error) and not isinstance(error, TimeoutError):
        context.is_disconnect = True


def create_engine(settings: ServiceSettings) -> AsyncEngine:
    """A pooled engine whose connects and statements time out instead of hanging."""
    url, connect_args = asyncpg_connect_args(settings)
    engine = create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_connect_timeout_seconds,
        pool_recycle=1800,
        # A connection broken by a database restart is replaced at checkout, not handed to a
        # request (which would answer 503 after the database is back).
        pool_pre_ping=True,
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine, "handle_error", _drop_broken_connections)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)

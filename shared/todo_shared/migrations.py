"""Alembic, run the same way by both services: online, async, one replica at a time."""

from __future__ import annotations

import asyncio
import zlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from todo_shared.db import asyncpg_url


def alembic_config(migrations_dir: Path, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["database_url"] = database_url
    return config


def migration_lock_id(name: str) -> int:
    """The advisory lock a service's migrations run under, from a fixed name (not the folder's
    path, which differs between a checkout and an image, so both would migrate at once)."""
    return zlib.crc32(name.encode())


def upgrade_to_head(migrations_dir: Path, database_url: str) -> None:
    """Apply every pending migration; replicas starting together wait for one another."""
    command.upgrade(alembic_config(migrations_dir, database_url), "head")


def run_env(target_metadata: MetaData, lock_name: str) -> None:
    """The body of each service's `migrations/env.py`; `lock_name` names its migration lock."""
    config = context.config
    database_url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if not database_url:
        raise RuntimeError("no database URL given to the migrations")
    url, connect_args = asyncpg_url(database_url)
    lock_id = migration_lock_id(lock_name)

    def migrate(connection: Connection) -> None:
        # A session-level advisory lock: a second replica blocks here, then finds nothing
        # left to do. Held across transactions, so a migration may commit part of its work
        # (`op.get_context().autocommit_block()`: a backfill in short batches, an index built
        # CONCURRENTLY) without letting another replica in. It ends with the connection.
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": lock_id})
        connection.commit()
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            compare_type=True,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool, connect_args=connect_args)
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
        await engine.dispose()

    asyncio.run(run())

"""The trash's purge: tasks trashed more than TRASH_RETENTION_DAYS ago go for good.

Every replica tries every TRASH_PURGE_INTERVAL_SECONDS (jittered, so replicas started together
drift apart); one at a time across replicas does it: each batch is a transaction that first
tries a transaction-scoped advisory lock and gives up the round if another replica holds it.
Batches are bounded (TRASH_PURGE_BATCH rows), so no transaction holds many row locks or runs
long, and the rows are claimed with SKIP LOCKED, so even two purgers would never delete one
row twice or wait on a user's own discard.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta

from todo_shared.db import Database
from todo_shared.errors import AppError
from todo_shared.migrations import migration_lock_id
from todo_tasks import repository
from todo_tasks.settings import Settings

logger = logging.getLogger("todo.tasks.purge")

PURGE_LOCK = migration_lock_id("todo_tasks.trash_purge")


async def purge_once(db: Database, retention: timedelta, batch: int) -> int | None:
    """Purge what is due, a batch per transaction: how many went, or None when another
    replica is purging."""
    purged = 0
    while True:
        async with db.transaction() as tx:
            if not await tx.fetchval("SELECT pg_try_advisory_xact_lock($1)", PURGE_LOCK):
                return None if purged == 0 else purged
            deleted = await repository.purge_trash(tx, retention, batch)
        purged += deleted
        if deleted < batch:
            return purged


async def purge_periodically(db: Database, settings: Settings) -> None:
    """Runs for the life of the replica (cancelled at shutdown)."""
    retention = timedelta(days=settings.trash_retention_days)
    interval = settings.trash_purge_interval_seconds
    while True:
        await asyncio.sleep(interval * (0.5 + random.random()))  # noqa: S311  # jitter only
        try:
            purged = await purge_once(db, retention, settings.trash_purge_batch)
        except AppError:
            continue  # the database is away: the next round tries again
        if purged:
            logger.info("trash purged", extra={"purged": purged})

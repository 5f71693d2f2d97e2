"""Seeding: users and tasks straight into the databases, tokens from the real auth service.

A bcrypt-12 signup costs ~0.25 s of CPU, so 1,000 signups over HTTP would take minutes: users
are inserted with one precomputed hash of the shared benchmark password instead, and only the
users the load rotates over log in over HTTP, so every token is one the auth service issued.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import jwt

PASSWORD = "bench-password-not-secret"
EMAIL_FORMAT = "bench-user-{:05d}@example.com"


@dataclass(frozen=True)
class Caller:
    """A logged-in user the load acts as, and one task of theirs for GET one and PATCH."""

    user_id: str
    email: str
    token: str
    task_id: int


async def seed_users(auth_url: str, count: int, password_hash: str) -> list[tuple[str, str]]:
    """Insert `count` users sharing one bcrypt hash; returns (user id, email) pairs."""
    users = [(uuid.uuid4(), EMAIL_FORMAT.format(i)) for i in range(count)]
    conn = await asyncpg.connect(auth_url)
    try:
        await conn.copy_records_to_table(
            "users",
            records=[(user_id, email, password_hash) for user_id, email in users],
            columns=["id", "email", "password_hash"],
        )
    finally:
        await conn.close()
    return [(str(user_id), email) for user_id, email in users]


async def seed_tasks(tasks_url: str, user_ids: list[str], per_user: int) -> dict[str, int]:
    """Insert `per_user` tasks per user (spread over the last days, some completed).

    Returns each user's newest task id: the task GET one and PATCH complete use.
    """
    now = datetime.now(UTC)
    rng = random.Random(6)
    records = []
    for user_id in user_ids:
        for n in range(per_user):
            created = now - timedelta(minutes=rng.randrange(0, 60 * 24 * 30))
            records.append(
                (
                    user_id,
                    f"Task {n} of a benchmark user",
                    "Seeded for the benchmark; about one sentence long." if n % 2 else None,
                    n % 3 == 0,
                    created,
                    created,
                )
            )
    conn = await asyncpg.connect(tasks_url)
    try:
        await conn.copy_records_to_table(
            "tasks",
            records=records,
            columns=["user_id", "title", "description", "completed", "created_at", "updated_at"],
        )
        await conn.execute("ANALYZE tasks")
        rows = await conn.fetch(
            "SELECT DISTINCT ON (user_id) user_id, id FROM tasks"
            " ORDER BY user_id, created_at DESC, id DESC"
        )
    finally:
        await conn.close()
    return {row["user_id"]: row["id"] for row in rows}


async def quiesce(database_urls: list[str]) -> None:
    """Do now the background work a bulk load leaves for later: autovacuum of the inserted
    rows and the checkpoint that writes them would otherwise land in some measured row."""
    for url in database_urls:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("VACUUM (ANALYZE)")
        finally:
            await conn.close()
    conn = await asyncpg.connect(database_urls[0])
    try:
        await conn.execute("CHECKPOINT")  # one cluster: one checkpoint covers both databases
    finally:
        await conn.close()


async def log_in(
    auth_base_url: str,
    users: list[tuple[str, str]],
    newest_task: dict[str, int],
    *,
    concurrency: int = 8,
) -> list[Caller]:
    """Log each user in over HTTP (the auth service's real tokens); checks `sub` is the id."""
    limit = asyncio.Semaphore(concurrency)

    async def one(client: httpx.AsyncClient, user_id: str, email: str) -> Caller:
        async with limit:
            response = await client.post(
                "/api/auth/login", json={"email": email, "password": PASSWORD}
            )
        if response.status_code != 200:
            raise RuntimeError(f"login failed: {response.status_code} {response.text}")
        token: str = response.json()["access_token"]
        subject = jwt.decode(token, options={"verify_signature": False})["sub"]
        if subject != user_id:
            raise RuntimeError(f"token sub {subject!r} is not the seeded id {user_id!r}")
        return Caller(user_id, email, token, newest_task[user_id])

    async with httpx.AsyncClient(base_url=auth_base_url, timeout=60.0) as client:
        return list(await asyncio.gather(*(one(client, uid, email) for uid, email in users)))


def write_data_files(callers: list[Caller], callers_path: Path, emails_path: Path) -> None:
    """The files the Lua scripts read: callers (id, token, task) and emails, one a line."""
    callers_path.write_text("".join(f"{c.user_id}\t{c.token}\t{c.task_id}\n" for c in callers))
    emails_path.write_text("".join(f"{c.email}\n" for c in callers))

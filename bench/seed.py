"""Seeding: users and tasks straight into the databases, tokens from the real auth service.

A bcrypt-12 signup costs ~0.25 s of CPU, so 1,000 signups over HTTP would take minutes: users
are inserted with one precomputed hash of the shared benchmark password instead, and only the
users the load rotates over log in over HTTP, so every token is one the auth service issued.

Tasks are numbered for the change feed by the seed itself, in the loading transaction, exactly as
migration 0004's row trigger would number them: that trigger updates the user's `task_sync` row
once per row, and one transaction loading one user's rows through it is quadratic (every update
walks the row's versions the transaction left behind): 10,000 tasks took 4.7 s, 20,000 took
10.9 s and 40,000 took 32 s on the 2-core machine, so the 100,000-task user alone would take
minutes.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
    """Insert `per_user` tasks per user (spread over the last days, some completed, one in
    `SEARCH_EVERY` with the search rows' word), each at version 1 and numbered 1, 2, ... in
    the order it is loaded, as the trigger numbers a load.

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
                    _title(n),
                    "Seeded for the benchmark; about one sentence long." if n % 2 else None,
                    n % 3 == 0,
                    created,
                    created,
                    1,
                    n + 1,
                )
            )
    conn = await asyncpg.connect(tasks_url)
    try:
        async with numbered_load(conn, [(user_id, per_user) for user_id in user_ids]):
            await conn.copy_records_to_table("tasks", records=records, columns=TASK_COLUMNS)
        await conn.execute("ANALYZE tasks")
        rows = await conn.fetch(
            "SELECT DISTINCT ON (user_id) user_id, id FROM tasks"
            " ORDER BY user_id, created_at DESC, id DESC"
        )
    finally:
        await conn.close()
    return {row["user_id"]: row["id"] for row in rows}


# One task in `SEARCH_EVERY` has a title with the word the search rows look for by its start
# (`SEARCH_QUERY`): 100 of the 100,000-task user's tasks, the first of each 50-task user's.
SEARCH_EVERY = 1000
SEARCH_QUERY = "groc"


def _title(n: int) -> str:
    return f"Buy groceries, task {n}" if n % SEARCH_EVERY == 0 else f"Task {n} of a benchmark user"


TASK_COLUMNS = [
    "user_id",
    "title",
    "description",
    "completed",
    "created_at",
    "updated_at",
    "version",
    "change_seq",
]


@asynccontextmanager
async def numbered_load(
    conn: asyncpg.Connection, seqs: list[tuple[str, int]]
) -> AsyncIterator[None]:
    """One transaction in which the rows written carry their own `version` and `change_seq`
    (migration 0004's numbering trigger is off inside it only: nobody else ever sees it off),
    ending with each user's `task_sync` counter at the last number given, as the trigger
    would have left it. The count triggers of migration 0002 run as in production."""
    async with conn.transaction():
        await conn.execute("ALTER TABLE tasks DISABLE TRIGGER task_sync_write")
        yield
        await conn.execute("ALTER TABLE tasks ENABLE TRIGGER task_sync_write")
        await conn.copy_records_to_table("task_sync", records=seqs, columns=["user_id", "seq"])


@dataclass(frozen=True)
class History:
    """A user's change feed as a sequence of writes has left it: the live tasks, each at its
    version and the number of its latest change, and a tombstone per deleted task."""

    tasks: list[tuple[int, int, bool, int]]  # (task number, version, completed, change_seq)
    tombstones: list[tuple[int, int, int]]  # (task number, version, change_seq)
    created: int  # tasks ever created: the task numbers are 0 .. created - 1


def history(changes: int, tail: int) -> History:
    """`changes` writes: creates (60%), edits (30%) and deletes (10%) of random live tasks,
    the last `tail` of them only on tasks made within that tail and drawn from a fixed seed.

    So every history ends the same way whatever its length: a page read from `tail` changes
    before the end holds the same changes after 100 or after 100,000 of them, and the two
    pages differ only in the history behind them.
    """
    if not 0 < tail <= changes:
        raise ValueError("need 0 < tail <= changes")
    state: dict[int, list[int]] = {}  # task number -> [version, completed, change_seq]
    tombstones: list[tuple[int, int, int]] = []
    created = 0
    for rng, first, last in (
        (random.Random(changes), 1, changes - tail),
        (random.Random(20), changes - tail + 1, changes),
    ):
        alive: list[int] = []  # the live tasks these writes may touch (swap-removed)
        for seq in range(first, last + 1):
            roll = rng.random()
            if not alive or roll < 0.6:
                state[created] = [1, 0, seq]
                alive.append(created)
                created += 1
                continue
            index = rng.randrange(len(alive))
            number = alive[index]
            task = state[number]
            if roll < 0.9:
                task[0], task[1], task[2] = task[0] + 1, rng.random() < 0.5, seq
            else:
                alive[index] = alive[-1]
                alive.pop()
                del state[number]
                tombstones.append((number, task[0] + 1, seq))
    live = [(n, version, bool(done), seq) for n, (version, done, seq) in sorted(state.items())]
    return History(live, tombstones, created)


async def seed_history(tasks_url: str, user_id: str, changes: int, tail: int) -> int:
    """Give `user_id` a change feed `changes` long (see `history`); returns the id of its
    newest live task."""
    made = history(changes, tail)
    start = datetime.now(UTC) - timedelta(seconds=changes)
    conn = await asyncpg.connect(tasks_url)
    try:
        # Ids as the service would give them, from the table's sequence, in creation order.
        ids: list[int] = sorted(
            await conn.fetchval(
                "SELECT array_agg(nextval(pg_get_serial_sequence('tasks', 'id')))"
                " FROM generate_series(1, $1)",
                made.created,
            )
        )
        records = [
            (
                ids[number],
                user_id,
                f"A task of a long history, version {version}",
                None,
                completed,
                start + timedelta(seconds=number),
                start + timedelta(seconds=seq),
                version,
                seq,
            )
            for number, version, completed, seq in made.tasks
        ]
        async with numbered_load(conn, [(user_id, changes)]):
            await conn.copy_records_to_table(
                "tasks", records=records, columns=["id", *TASK_COLUMNS]
            )
            await conn.copy_records_to_table(
                "task_tombstones",
                records=[(user_id, seq, ids[n], version) for n, version, seq in made.tombstones],
                columns=["user_id", "change_seq", "task_id", "version"],
            )
    finally:
        await conn.close()
    return max(record[0] for record in records)


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

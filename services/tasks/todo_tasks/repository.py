"""Every query of the tasks service, each one filtered by the owner taken from the token.

Plain SQL on asyncpg (prepared once per connection by its statement cache), one statement per
call. Rows go straight to JSON as dicts: no ORM objects on the hot path. The schema itself is
`todo_tasks.models.task.Task` and the migrations; a test checks the two agree.
"""

from __future__ import annotations

import re
from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import UTC, datetime, timedelta
from typing import Any

from todo_shared.errors import Conflict, ServiceUnavailable
from todo_tasks.database import Database

TaskRow = dict[str, Any]
# Where a keyset page resumes: the (created_at, id) of the last task before it.
Position = tuple[datetime, int]

MAX_BIGINT = 2**63 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"(-?[0-9]{1,19})\.([0-9]{1,19})")

# The columns of a task, as `_task` reads them; every statement below reads or returns them.
_COLUMNS = "id, user_id, title, description, completed, created_at, updated_at"
_SELECT_TASK = f"SELECT {_COLUMNS}"
_RETURNING_TASK = f"RETURNING {_COLUMNS}"

# A page is an index range scan of (user_id[, completed], created_at DESC, id DESC), resumed
# after a keyset position when there is one. Its rows carry the filtered total, read from the
# per-user counts the triggers keep (migration 0002): no page scans more than it returns, apart
# from the rows an OFFSET skips.
_TOTAL = """(
SELECT CASE WHEN {flag}::boolean IS NULL THEN total WHEN {flag} THEN completed
            ELSE total - completed END
FROM task_counts WHERE user_id = $1)"""
_PAGE = (
    _SELECT_TASK
    + """, coalesce({total}, 0) AS total
FROM tasks WHERE user_id = $1 {filter} {after}
ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3
"""
)
# One statement per (filter, keyset) pair rather than `$4 IS NULL OR ...`, so each keeps a
# plan that uses its index.
_LISTS = {
    (by_completed, keyset): _PAGE.format(
        total=_TOTAL.format(flag="$4"),
        filter="AND completed = $4" if by_completed else "",
        after="AND (created_at, id) < ($5, $6)" if keyset else "",
    )
    for by_completed in (False, True)
    for keyset in (False, True)
}
_COUNT = f"SELECT coalesce({_TOTAL.format(flag='$2')}, 0)"
_GET = (
    _SELECT_TASK
    + """
FROM tasks WHERE id = $1 AND user_id = $2
"""
)
_INSERT = (
    """
INSERT INTO tasks (user_id, title, description, completed) VALUES ($1, $2, $3, $4)
"""
    + _RETURNING_TASK
)
# A keyed create, in one statement (so one transaction): claim the key with the id the task
# will get, and insert the task only when the claim succeeded. A concurrent duplicate waits on
# the primary key until the first commits, then claims nothing and inserts nothing. An expired
# key is claimed anew. A few expired keys of anyone's are deleted on the way (never the one
# being claimed, never rows another request is deleting), which keeps the table to about one
# expiry period of keyed creates.
_INSERT_WITH_KEY = (
    """
WITH purged AS (
    DELETE FROM task_idempotency_keys WHERE (user_id, key) IN (
        SELECT user_id, key FROM task_idempotency_keys
        WHERE created_at < now() - $7::interval AND (user_id, key) <> ($1, $2)
        ORDER BY created_at LIMIT 10 FOR UPDATE SKIP LOCKED)
), claimed AS (
    INSERT INTO task_idempotency_keys AS k (user_id, key, fingerprint, task_id)
    VALUES ($1, $2, $3, nextval(pg_get_serial_sequence('tasks', 'id')))
    ON CONFLICT (user_id, key) DO UPDATE
    SET fingerprint = excluded.fingerprint, task_id = excluded.task_id, created_at = now()
    WHERE k.created_at < now() - $7::interval
    RETURNING task_id
)
INSERT INTO tasks (id, user_id, title, description, completed)
SELECT task_id, $1, $4, $5, $6 FROM claimed
"""  # noqa: S608  # constants only: every value is a parameter
    + _RETURNING_TASK
)
# What an existing key created: the request's fingerprint and the task as it is now (no task
# columns when it was deleted since).
_KEYED = f"""
SELECT k.fingerprint, t.* FROM task_idempotency_keys k LEFT JOIN LATERAL (
    {_SELECT_TASK} FROM tasks WHERE id = k.task_id AND user_id = k.user_id
) t ON true
WHERE k.user_id = $1 AND k.key = $2
"""  # noqa: S608  # constants only: every value is a parameter
_REPLACE = (
    """
UPDATE tasks SET title = $3, description = $4, completed = $5, updated_at = now()
WHERE id = $1 AND user_id = $2
"""
    + _RETURNING_TASK
)
# PATCH: each field changes only when its flag is set, so one prepared statement serves them all.
_PATCH = (
    """
UPDATE tasks SET
    title = CASE WHEN $3 THEN $4 ELSE title END,
    description = CASE WHEN $5 THEN $6 ELSE description END,
    completed = CASE WHEN $7 THEN $8 ELSE completed END,
    updated_at = now()
WHERE id = $1 AND user_id = $2
"""
    + _RETURNING_TASK
)
# NULL toggles, reading and writing in one statement, so two concurrent toggles cannot both flip
# from the same old value.
_COMPLETE = (
    """
UPDATE tasks SET completed = coalesce($3, NOT completed), updated_at = now()
WHERE id = $1 AND user_id = $2
"""
    + _RETURNING_TASK
)
_DELETE = "DELETE FROM tasks WHERE id = $1 AND user_id = $2 RETURNING id"


def _task(row: Any) -> TaskRow | None:
    return None if row is None else dict(row)


def encode_cursor(task: TaskRow) -> str:
    """The opaque position after `task`: base64url of its created_at (epoch microseconds) and id."""
    micros = (task["created_at"] - _EPOCH) // timedelta(microseconds=1)
    return urlsafe_b64encode(f"{micros}.{task['id']}".encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> Position | None:
    """The position `encode_cursor` wrote, or None when `cursor` is not one."""
    try:
        text = urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None
    match = _CURSOR.fullmatch(text)
    if match is None or not 0 < int(match[2]) <= MAX_BIGINT:
        return None
    try:
        return _EPOCH + timedelta(microseconds=int(match[1])), int(match[2])
    except OverflowError:
        return None


async def list_tasks(
    db: Database,
    owner: str,
    *,
    completed: bool | None,
    limit: int,
    offset: int,
    after: Position | None = None,
) -> tuple[list[TaskRow], int, bool]:
    """A page, newest first (after `after` when given), the size of the whole filtered set, and
    whether more rows follow the page.

    One row more than the page is read to tell whether there is a next page. A page past the
    end has no row to carry the total: only then a second query reads it.
    """
    args: list[Any] = [owner, limit + 1, offset, completed]
    if after is not None:
        args.extend(after)
    rows = await db.fetch(_LISTS[completed is not None, after is not None], *args)
    if not rows:
        total = await db.fetchval(_COUNT, owner, completed) if offset or after else 0
        return [], total, False
    page = [dict(row) for row in rows[:limit]]
    for task in page:
        del task["total"]
    return page, rows[0]["total"], len(rows) > limit


async def get_task(db: Database, owner: str, task_id: int) -> TaskRow | None:
    return _task(await db.fetchrow(_GET, task_id, owner))


async def create_task(
    db: Database, owner: str, *, title: str, description: str | None, completed: bool
) -> TaskRow:
    row = await db.fetchrow(_INSERT, owner, title, description, completed)
    return dict(row)


# How long a key is remembered: a retry within this time replays, after it creates anew.
KEY_TTL = timedelta(hours=24)


async def create_task_with_key(
    db: Database,
    owner: str,
    key: str,
    fingerprint: bytes,
    *,
    title: str,
    description: str | None,
    completed: bool,
) -> tuple[TaskRow, bool]:
    """The task `key` created for `owner` within `KEY_TTL`, creating it if there is none, and
    whether it was there already (a replay: the task as it is now).

    The same key with a different `fingerprint` (request), or whose task has been deleted
    since, is a 409 that changes nothing.

    A key that was claimed is looked up by a second statement, which (unlike the first) sees
    the concurrent duplicate's committed row. Only when that row expired and was purged in
    between does the lookup find nothing, and the claim is tried again.
    """
    args = (owner, key, fingerprint, title, description, completed, KEY_TTL)
    for _ in range(3):
        row = await db.fetchrow(_INSERT_WITH_KEY, *args)
        if row is not None:
            return dict(row), False
        found = await db.fetchrow(_KEYED, owner, key)
        if found is None:
            continue
        earlier = dict(found)
        if earlier.pop("fingerprint") != fingerprint:
            raise Conflict("Idempotency-Key already used with a different request")
        if earlier["id"] is None:
            raise Conflict("the task created with this Idempotency-Key has been deleted")
        return earlier, True
    raise ServiceUnavailable  # the key kept vanishing: a retry will settle it


async def replace_task(
    db: Database,
    owner: str,
    task_id: int,
    *,
    title: str,
    description: str | None,
    completed: bool,
) -> TaskRow | None:
    return _task(await db.fetchrow(_REPLACE, task_id, owner, title, description, completed))


async def update_task(
    db: Database, owner: str, task_id: int, changes: dict[str, Any]
) -> TaskRow | None:
    """Change the fields present in `changes` (an explicit None description clears it)."""
    row = await db.fetchrow(
        _PATCH,
        task_id,
        owner,
        "title" in changes,
        changes.get("title"),
        "description" in changes,
        changes.get("description"),
        "completed" in changes,
        changes.get("completed"),
    )
    return _task(row)


async def set_completed(
    db: Database, owner: str, task_id: int, completed: bool | None
) -> TaskRow | None:
    """Set the flag, or flip it when `completed` is None."""
    return _task(await db.fetchrow(_COMPLETE, task_id, owner, completed))


async def delete_task(db: Database, owner: str, task_id: int) -> bool:
    return await db.fetchval(_DELETE, task_id, owner) is not None

"""Every query of the tasks service, each one filtered by the owner taken from the token.

Plain SQL on asyncpg (prepared once per connection by its statement cache), one statement per
call. Rows go straight to JSON as dicts: no ORM objects on the hot path. The schema itself is
`todo_tasks.models.task.Task` and the migrations; a test checks the two agree.
"""

from __future__ import annotations

from typing import Any

from todo_tasks.database import Database

TaskRow = dict[str, Any]

# The window count is taken before LIMIT/OFFSET: the page and the filtered total in one scan of
# the (user_id, created_at DESC, id DESC) index.
_LIST = """
SELECT id, user_id, title, description, completed, created_at, updated_at,
       count(*) OVER () AS total
FROM tasks WHERE user_id = $1
ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3
"""
_LIST_BY_COMPLETED = """
SELECT id, user_id, title, description, completed, created_at, updated_at,
       count(*) OVER () AS total
FROM tasks WHERE user_id = $1 AND completed = $4
ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3
"""
_COUNT = """
SELECT count(*) FROM tasks WHERE user_id = $1 AND ($2::boolean IS NULL OR completed = $2)
"""
_GET = """
SELECT id, user_id, title, description, completed, created_at, updated_at
FROM tasks WHERE id = $1 AND user_id = $2
"""
_INSERT = """
INSERT INTO tasks (user_id, title, description, completed) VALUES ($1, $2, $3, $4)
RETURNING id, user_id, title, description, completed, created_at, updated_at
"""
_REPLACE = """
UPDATE tasks SET title = $3, description = $4, completed = $5, updated_at = now()
WHERE id = $1 AND user_id = $2
RETURNING id, user_id, title, description, completed, created_at, updated_at
"""
# PATCH: each field changes only when its flag is set, so one prepared statement serves them all.
_PATCH = """
UPDATE tasks SET
    title = CASE WHEN $3 THEN $4 ELSE title END,
    description = CASE WHEN $5 THEN $6 ELSE description END,
    completed = CASE WHEN $7 THEN $8 ELSE completed END,
    updated_at = now()
WHERE id = $1 AND user_id = $2
RETURNING id, user_id, title, description, completed, created_at, updated_at
"""
# NULL toggles, reading and writing in one statement, so two concurrent toggles cannot both flip
# from the same old value.
_COMPLETE = """
UPDATE tasks SET completed = coalesce($3, NOT completed), updated_at = now()
WHERE id = $1 AND user_id = $2
RETURNING id, user_id, title, description, completed, created_at, updated_at
"""
_DELETE = "DELETE FROM tasks WHERE id = $1 AND user_id = $2 RETURNING id"


def _task(row: Any) -> TaskRow | None:
    return None if row is None else dict(row)


async def list_tasks(
    db: Database, owner: str, *, completed: bool | None, limit: int, offset: int
) -> tuple[list[TaskRow], int]:
    """A page, newest first, and the size of the whole filtered set.

    A page past the end has no row to carry the window count: only then a second query counts.
    """
    if completed is None:
        rows = await db.fetch(_LIST, owner, limit, offset)
    else:
        rows = await db.fetch(_LIST_BY_COMPLETED, owner, limit, offset, completed)
    if not rows:
        total = await db.fetchval(_COUNT, owner, completed) if offset else 0
        return [], total
    page = [dict(row) for row in rows]
    for task in page:
        del task["total"]
    return page, rows[0]["total"]


async def get_task(db: Database, owner: str, task_id: int) -> TaskRow | None:
    return _task(await db.fetchrow(_GET, task_id, owner))


async def create_task(
    db: Database, owner: str, *, title: str, description: str | None, completed: bool
) -> TaskRow:
    row = await db.fetchrow(_INSERT, owner, title, description, completed)
    return dict(row)


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

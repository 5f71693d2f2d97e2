"""Every query of a user's lists, each one filtered by the owner taken from the token.

A list is versioned and numbered in the change feed by the same triggers as a task
(migration 0008). A user has at most LISTS_PER_USER of them, so reading or re-keying all of
a user's lists is bounded.
"""

# ruff: noqa: S608  # statements are built from checked identifiers; every value is a parameter

from __future__ import annotations

from typing import Any, cast

import asyncpg

from todo_shared.db import Database
from todo_shared.errors import Conflict, invalid
from todo_shared.sql import Statement
from todo_tasks.ordering import MAX_KEY, key_between, spread
from todo_tasks.repository import LIST_COLUMNS, TRASH_GONE, Expected, Placement
from todo_tasks.schemas.list import ListPublic

_OWNED = "WHERE user_id = :owner AND id = :id"
_EXPECTED = f"{_OWNED} AND (:expected::integer[] IS NULL OR version = ANY(:expected))"
_RETURNING = f"RETURNING {LIST_COLUMNS}"

_ALL = Statement.compile(
    f"SELECT {LIST_COLUMNS} FROM task_lists WHERE user_id = :owner ORDER BY position, id"
)
_GET = Statement.compile(f"SELECT {LIST_COLUMNS} FROM task_lists {_OWNED}")
# Creates of one user queue here, so the count each one reads is exact (READ COMMITTED: a
# statement after the lock sees every create committed before it).
_LOCK = Statement.compile(
    "SELECT pg_advisory_xact_lock(hashtextextended('task_lists ' || :owner, 0))"
)
_LAST = Statement.compile(
    "SELECT count(*) AS lists, max(position) AS last FROM task_lists WHERE user_id = :owner"
)
_INSERT = Statement.compile(
    f"INSERT INTO task_lists (user_id, name, position) VALUES (:owner, :name, :position) "
    f"{_RETURNING}"
)
_RENAME = Statement.compile(
    f"UPDATE task_lists SET name = :name, updated_at = now() {_EXPECTED} {_RETURNING}"
)
_KEYS = Statement.compile(
    "SELECT id, position FROM task_lists WHERE user_id = :owner ORDER BY position, id"
)
_MOVE = Statement.compile(
    f"UPDATE task_lists SET position = :position, updated_at = now() {_EXPECTED} {_RETURNING}"
)
_SPREAD = Statement.compile(
    f"""
WITH written AS (
    UPDATE task_lists l SET position = k.position,
        updated_at = CASE WHEN l.id = :id THEN now() ELSE l.updated_at END
    FROM unnest(:ids::bigint[], :keys::text[]) AS k(id, position)
    WHERE l.id = k.id AND l.user_id = :owner
      AND (l.id <> :id OR :expected::integer[] IS NULL OR l.version = ANY(:expected))
    RETURNING l.*
)
SELECT {LIST_COLUMNS} FROM written WHERE id = :id"""
)
# Only an empty list: a task added meanwhile makes the foreign key refuse the delete.
_DELETE_EMPTY = Statement.compile(
    f"DELETE FROM task_lists {_EXPECTED}"
    " AND NOT EXISTS (SELECT FROM tasks WHERE user_id = :owner AND list_id = :id)"
    " RETURNING id"
)
# The list and, into the trash, its tasks, in one statement (so one transaction).
_DELETE_WITH_TASKS = Statement.compile(
    f"""
WITH doomed AS (DELETE FROM task_lists {_EXPECTED} RETURNING id),
gone AS (
    DELETE FROM tasks WHERE user_id = :owner AND list_id = (SELECT id FROM doomed) RETURNING *
),
trashed AS ({TRASH_GONE})
SELECT id FROM doomed"""
)
# Why an empty-only delete deleted nothing: the list is there, at an expected version, and
# holds tasks.
_HOLDS_TASKS = Statement.compile(
    f"SELECT EXISTS (SELECT FROM task_lists {_EXPECTED}"
    " AND EXISTS (SELECT FROM tasks WHERE user_id = :owner AND list_id = :id))"
)


class TooManyLists(Exception):
    """The owner has LISTS_PER_USER lists already."""


def _list(row: Any) -> ListPublic | None:
    return None if row is None else cast(ListPublic, dict(row))


def _name_taken() -> Conflict:
    return Conflict("you already have a list of that name (names ignore case)")


async def all_lists(db: Database, owner: str) -> list[ListPublic]:
    """The caller's lists, in their order."""
    return [cast(ListPublic, dict(row)) for row in await db.fetch(*_ALL.bind(owner=owner))]


async def get_list(db: Database, owner: str, list_id: int) -> ListPublic | None:
    return _list(await db.fetchrow(*_GET.bind(owner=owner, id=list_id)))


async def create_list(db: Database, owner: str, name: str, *, most: int) -> ListPublic:
    """A new list after the caller's others; TooManyLists past `most`, a 409 for a name they
    have already (ignoring case)."""
    try:
        async with db.transaction() as queries:
            await queries.fetchval(*_LOCK.bind(owner=owner))
            found = await queries.fetchrow(*_LAST.bind(owner=owner))
            if found["lists"] >= most:
                raise TooManyLists
            position = key_between(found["last"] or "", None)
            row = await queries.fetchrow(*_INSERT.bind(owner=owner, name=name, position=position))
    except asyncpg.UniqueViolationError:
        raise _name_taken() from None
    return cast(ListPublic, dict(row))


async def rename_list(
    db: Database, owner: str, list_id: int, name: str, expected: Expected = None
) -> ListPublic | None:
    try:
        row = await db.fetchrow(
            *_RENAME.bind(owner=owner, id=list_id, name=name, expected=expected)
        )
    except asyncpg.UniqueViolationError:
        raise _name_taken() from None
    return _list(row)


async def move_list(
    db: Database, owner: str, list_id: int, place: Placement, expected: Expected = None
) -> ListPublic | None:
    """Put the list at `place` among the caller's lists (first when no anchor); only its key
    changes unless no short key fits there, when every list's key is spread anew."""
    keys = [(row["id"], row["position"]) for row in await db.fetch(*_KEYS.bind(owner=owner))]
    if list_id not in {found for found, _ in keys}:
        return None
    others = [(found, key) for found, key in keys if found != list_id]
    at = 0
    if place.anchor is not None:
        side = "before" if place.before else "after"
        spots = [index for index, (found, _) in enumerate(others) if found == place.anchor]
        if not spots:
            raise invalid(("body", side), "must be another of your lists", "not_a_list")
        at = spots[0] + (0 if place.before else 1)
    low = others[at - 1][1] if at else ""
    high = others[at][1] if at < len(others) else None
    if high is None or low < high:
        key = key_between(low, high)
        if len(key) <= MAX_KEY:
            statement = _MOVE.bind(owner=owner, id=list_id, expected=expected, position=key)
            return _list(await db.fetchrow(*statement))
    ids = [found for found, _ in others]
    ids.insert(at, list_id)
    statement = _SPREAD.bind(
        owner=owner, id=list_id, expected=expected, ids=ids, keys=spread("", None, len(ids))
    )
    return _list(await db.fetchrow(*statement))


class ListNotEmpty(Exception):
    """The list still holds tasks (and the delete did not ask to trash them)."""


async def delete_list(
    db: Database, owner: str, list_id: int, *, with_tasks: bool, expected: Expected = None
) -> bool:
    """Delete the list (with its tasks moved to the trash when `with_tasks`); False when it is
    not the caller's or not at an expected version; ListNotEmpty when it holds tasks."""
    statement = (_DELETE_WITH_TASKS if with_tasks else _DELETE_EMPTY).bind(
        owner=owner, id=list_id, expected=expected
    )
    try:
        deleted = await db.fetchval(*statement)
    except asyncpg.ForeignKeyViolationError:
        raise ListNotEmpty from None
    holds = _HOLDS_TASKS.bind(owner=owner, id=list_id, expected=expected)
    if deleted is None and not with_tasks and await db.fetchval(*holds):
        raise ListNotEmpty
    return deleted is not None

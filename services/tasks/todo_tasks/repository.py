"""Every query of the tasks service, each one filtered by the owner taken from the token.

Plain SQL on asyncpg (prepared once per connection by its statement cache), one statement per
call, every parameter bound by name. The statements are derived from two declarations: the
columns a task returns (`TaskPublic`) and the fields a client writes (`TaskBase`), so a column
added to both (and to the table, by a migration) is selected, inserted, replaced, patched and
returned without an edit here. The schema itself is `todo_tasks.models.task.Task` and the
migrations; a test checks the two agree.
"""

# ruff: noqa: S608  # statements are built from checked identifiers; every value is a parameter

from __future__ import annotations

import re
from base64 import urlsafe_b64decode, urlsafe_b64encode
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from pydantic import BaseModel

from todo_shared.db import Database
from todo_shared.errors import Conflict, ServiceUnavailable
from todo_shared.sql import Statement
from todo_tasks.schemas.task import TaskBase, TaskPatch, TaskPublic

# Where a keyset page resumes: the (created_at, id) of the last task before it.
Position = tuple[datetime, int]

MAX_BIGINT = 2**63 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"(-?[0-9]{1,19})\.([0-9]{1,19})")
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
# Set by the service, never by a client.
_SERVER_SET = frozenset({"id", "user_id", "created_at", "updated_at"})

# How long a key is remembered: a retry within this time replays, after it creates anew.
KEY_TTL = timedelta(hours=24)


def _identifiers(names: Iterable[str]) -> tuple[str, ...]:
    names = tuple(names)
    for name in names:
        if not _IDENTIFIER.fullmatch(name):
            raise ValueError(f"not a column name: {name!r}")
    return names


@dataclass
class TaskStatements:
    """The statements over `returned` (what every statement selects or returns) and `written`
    (what a create, a replace and a patch set)."""

    returned: tuple[str, ...]
    written: tuple[str, ...]
    _patches: dict[frozenset[str], Statement] = field(default_factory=dict, repr=False)

    @classmethod
    def for_schemas(cls, public: type[Mapping[str, Any]], base: type[BaseModel]) -> TaskStatements:
        written = tuple(base.model_fields)
        refused = (set(written) & _SERVER_SET) | (set(written) - set(public.__annotations__))
        if refused:
            raise ValueError(f"not writable: {sorted(refused)}")
        return cls(_identifiers(public.__annotations__), _identifiers(written))

    def __post_init__(self) -> None:
        columns = ", ".join(self.returned)
        written = ", ".join(self.written)
        values = ", ".join(f":{name}" for name in self.written)
        assignments = ", ".join(f"{name} = :{name}" for name in self.written)
        self._select = f"SELECT {columns}"
        self._returning = f"RETURNING {columns}"
        self._where_owned = where_owned = "WHERE id = :id AND user_id = :owner"
        # A page's total, read from the per-user counts the triggers keep (migration 0002).
        total = """(
SELECT CASE WHEN :completed::boolean IS NULL THEN total WHEN :completed THEN completed
            ELSE total - completed END
FROM task_counts WHERE user_id = :owner)"""
        # A page is an index range scan of (user_id[, completed], created_at DESC, id DESC),
        # resumed after a keyset position when there is one, its rows carrying the filtered
        # total: no page scans more than it returns, apart from the rows an OFFSET skips. One
        # statement per (filter, keyset) pair rather than `:x IS NULL OR ...`, so each keeps a
        # plan that uses its index.
        self.pages = {
            (by_completed, keyset): Statement.compile(
                f"""{self._select}, coalesce({total}, 0) AS total
FROM tasks WHERE user_id = :owner
{"AND completed = :completed" if by_completed else ""}
{"AND (created_at, id) < (:after_created_at, :after_id)" if keyset else ""}
ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset"""
            )
            for by_completed in (False, True)
            for keyset in (False, True)
        }
        self.count = Statement.compile(f"SELECT coalesce({total}, 0)")
        self.get = Statement.compile(f"{self._select} FROM tasks {where_owned}")
        self.insert = Statement.compile(
            f"INSERT INTO tasks (user_id, {written}) VALUES (:owner, {values}) " + self._returning
        )
        # A keyed create, in one statement (so one transaction): claim the key with the id the
        # task will get, and insert the task only when the claim succeeded. A concurrent
        # duplicate waits on the primary key until the first commits, then claims nothing and
        # inserts nothing. An expired key is claimed anew. A few expired keys of anyone's are
        # deleted on the way (never the one being claimed, never rows another request is
        # deleting), which keeps the table to about one expiry period of keyed creates.
        self.insert_with_key = Statement.compile(
            f"""
WITH purged AS (
    DELETE FROM task_idempotency_keys WHERE (user_id, key) IN (
        SELECT user_id, key FROM task_idempotency_keys
        WHERE created_at < now() - :ttl::interval AND (user_id, key) <> (:owner, :key)
        ORDER BY created_at LIMIT 10 FOR UPDATE SKIP LOCKED)
), claimed AS (
    INSERT INTO task_idempotency_keys AS k (user_id, key, fingerprint, task_id)
    VALUES (:owner, :key, :fingerprint, nextval(pg_get_serial_sequence('tasks', 'id')))
    ON CONFLICT (user_id, key) DO UPDATE
    SET fingerprint = excluded.fingerprint, task_id = excluded.task_id, created_at = now()
    WHERE k.created_at < now() - :ttl::interval
    RETURNING task_id
)
INSERT INTO tasks (id, user_id, {written})
SELECT task_id, :owner, {values} FROM claimed
{self._returning}"""
        )
        # What an existing key created: the request's fingerprint and the task as it is now
        # (no task columns when it was deleted since).
        self.keyed = Statement.compile(
            f"""
SELECT k.fingerprint, t.* FROM task_idempotency_keys k LEFT JOIN LATERAL (
    {self._select} FROM tasks WHERE id = k.task_id AND user_id = k.user_id
) t ON true
WHERE k.user_id = :owner AND k.key = :key"""
        )
        self.replace = Statement.compile(
            f"UPDATE tasks SET {assignments}, updated_at = now() {where_owned} {self._returning}"
        )
        # NULL toggles, reading and writing in one statement, so two concurrent toggles cannot
        # both flip from the same old value.
        self.complete = Statement.compile(
            "UPDATE tasks SET completed = coalesce(:completed, NOT completed), "
            f"updated_at = now() {where_owned} {self._returning}"
        )
        self.delete = Statement.compile(f"DELETE FROM tasks {where_owned} RETURNING id")

    def patch(self, fields: Iterable[str]) -> Statement:
        """The UPDATE of exactly `fields`, one statement per combination a client sends (each
        prepared once per connection), so untouched columns are not even mentioned."""
        key = frozenset(fields)
        statement = self._patches.get(key)
        if statement is None:
            unknown = key - set(self.written)
            if unknown:
                raise ValueError(f"not writable: {sorted(unknown)}")
            assignments = "".join(f"{name} = :{name}, " for name in self.written if name in key)
            statement = self._patches[key] = Statement.compile(
                f"UPDATE tasks SET {assignments}updated_at = now() "
                f"{self._where_owned} {self._returning}"
            )
        return statement


STATEMENTS = TaskStatements.for_schemas(TaskPublic, TaskBase)


def _task(row: Any) -> TaskPublic | None:
    return None if row is None else cast(TaskPublic, dict(row))


def encode_cursor(task: TaskPublic) -> str:
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
) -> tuple[list[TaskPublic], int, bool]:
    """A page, newest first (after `after` when given), the size of the whole filtered set, and
    whether more rows follow the page.

    One row more than the page is read to tell whether there is a next page. A page past the
    end has no row to carry the total: only then a second query reads it.
    """
    statement = STATEMENTS.pages[completed is not None, after is not None]
    keyset = {} if after is None else {"after_created_at": after[0], "after_id": after[1]}
    rows = await db.fetch(
        *statement.bind(owner=owner, completed=completed, limit=limit + 1, offset=offset, **keyset)
    )
    if not rows:
        if not (offset or after):
            return [], 0, False
        total = await db.fetchval(*STATEMENTS.count.bind(owner=owner, completed=completed))
        return [], total, False
    page = [dict(row) for row in rows[:limit]]
    for task in page:
        del task["total"]
    return cast(list[TaskPublic], page), rows[0]["total"], len(rows) > limit


async def get_task(db: Database, owner: str, task_id: int) -> TaskPublic | None:
    return _task(await db.fetchrow(*STATEMENTS.get.bind(id=task_id, owner=owner)))


async def create_task(db: Database, owner: str, task: TaskBase) -> TaskPublic:
    row = await db.fetchrow(*STATEMENTS.insert.bind(owner=owner, **task.model_dump()))
    return cast(TaskPublic, dict(row))


async def create_task_with_key(
    db: Database, owner: str, key: str, fingerprint: bytes, task: TaskBase
) -> tuple[TaskPublic, bool]:
    """The task `key` created for `owner` within `KEY_TTL`, creating it if there is none, and
    whether it was there already (a replay: the task as it is now).

    The same key with a different `fingerprint` (request), or whose task has been deleted
    since, is a 409 that changes nothing.

    A key that was claimed is looked up by a second statement, which (unlike the first) sees
    the concurrent duplicate's committed row. Only when that row expired and was purged in
    between does the lookup find nothing, and the claim is tried again.
    """
    insert = STATEMENTS.insert_with_key.bind(
        owner=owner, key=key, fingerprint=fingerprint, ttl=KEY_TTL, **task.model_dump()
    )
    for _ in range(3):
        row = await db.fetchrow(*insert)
        if row is not None:
            return cast(TaskPublic, dict(row)), False
        found = await db.fetchrow(*STATEMENTS.keyed.bind(owner=owner, key=key))
        if found is None:
            continue
        earlier = dict(found)
        if earlier.pop("fingerprint") != fingerprint:
            raise Conflict("Idempotency-Key already used with a different request")
        if earlier["id"] is None:
            raise Conflict("the task created with this Idempotency-Key has been deleted")
        return cast(TaskPublic, earlier), True
    raise ServiceUnavailable  # the key kept vanishing: a retry will settle it


async def replace_task(db: Database, owner: str, task_id: int, task: TaskBase) -> TaskPublic | None:
    statement = STATEMENTS.replace
    return _task(await db.fetchrow(*statement.bind(id=task_id, owner=owner, **task.model_dump())))


async def update_task(
    db: Database, owner: str, task_id: int, patch: TaskPatch
) -> TaskPublic | None:
    """Change the fields the client sent (an explicit null description clears it)."""
    changes = patch.model_dump(exclude_unset=True)
    statement = STATEMENTS.patch(changes)
    return _task(await db.fetchrow(*statement.bind(id=task_id, owner=owner, **changes)))


async def set_completed(
    db: Database, owner: str, task_id: int, completed: bool | None
) -> TaskPublic | None:
    """Set the flag, or flip it when `completed` is None."""
    statement = STATEMENTS.complete
    return _task(await db.fetchrow(*statement.bind(id=task_id, owner=owner, completed=completed)))


async def delete_task(db: Database, owner: str, task_id: int) -> bool:
    return await db.fetchval(*STATEMENTS.delete.bind(id=task_id, owner=owner)) is not None

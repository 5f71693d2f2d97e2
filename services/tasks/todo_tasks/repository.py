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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

import asyncpg
from pydantic import BaseModel

from todo_shared.db import Database, Queries
from todo_shared.errors import Conflict, ServiceUnavailable, invalid
from todo_shared.sql import Statement
from todo_tasks.models.task import POSITION_KEY
from todo_tasks.ordering import KEY_PATTERN, MAX_KEY, key_between, spread
from todo_tasks.schemas.changes import (
    Change,
    ListDeleted,
    ListUpserted,
    TaskDeleted,
    TaskUpserted,
)
from todo_tasks.schemas.list import ListPublic
from todo_tasks.schemas.task import TaskBase, TaskPatch, TaskPublic

# Where a keyset page resumes: the sort's values of the last task before it (see `Sort`).
Position = tuple[Any, ...]

MAX_BIGINT = 2**63 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(
    r"(?:([cupr][ad])\.)?(?:(0|[1-9][0-9]{0,18})\.)?(-?[0-9]{1,19})\.([0-9]{1,19})"
)
_POSITION_CURSOR = re.compile(rf"m([ad])\.({KEY_PATTERN})\.([0-9]{{1,19}})")
_FEED_CURSOR = re.compile(r"([0-9]{1,19})\.([0-9]{1,12})")


def _wrap(text: str) -> str:
    """A cursor's text as it travels: unpadded URL-safe base64 (opaque, safe in a query)."""
    return urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def _unwrap(cursor: str, pattern: re.Pattern[str]) -> re.Match[str] | None:
    """The fields of a cursor `_wrap` made from text matching `pattern`, else None."""
    try:
        text = urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None
    return pattern.fullmatch(text)


# A feed cursor stamped later than this after now was not written by this service.
_CLOCK_SKEW = timedelta(minutes=5)
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
# Set by the service, never by a client.
_SERVER_SET = frozenset({"id", "user_id", "created_at", "updated_at", "version"})

# How long a key is remembered: a retry within this time replays, after it creates anew.
KEY_TTL = timedelta(hours=24)


def _identifiers(names: Iterable[str]) -> tuple[str, ...]:
    names = tuple(names)
    for name in names:
        if not _IDENTIFIER.fullmatch(name):
            raise ValueError(f"not a column name: {name!r}")
    return names


# What a list can keep, ANDed: each a condition on the caller's tasks.
_CONDITIONS = {
    "list_id": "list_id = :list_id",
    "inbox": "list_id IS NULL",
    "completed": "completed = :completed",
    "priority": "priority = :priority",
    # Every label asked for, ignoring case (GIN index of migration 0005).
    "labels": "task_label_keys(labels) @> task_label_keys(:labels::text[])",
}


# `q`: the caller's tasks holding every word of it, by prefix (migration 0009). The index
# finds them by the owner's key prefix alone; the match sits behind OFFSET 0, where the
# planner cannot push `user_id = :owner` or another filter into it, so it never intersects
# the match with a btree range of all the owner's tasks (100,000 entries read to keep 50).
_MATCHES = (
    "task_search_keys(user_id, title, description)"
    " @@ task_search_query(task_search_owner(:owner), :q)"
)
# How well a task matches, as an integer (exact in a cursor): ts_rank scaled to 6 digits.
_RANK = (
    "round(ts_rank(task_search_document(title, description),"
    " (SELECT task_search_query('', :q))) * 1e6)::bigint"
)


def _source(conditions: frozenset[str], ranked: bool = False) -> str:
    """What a list reads: the table, or with `q` its matches (with their `rank` when the
    order needs it), under the table's name."""
    if "q" not in conditions:
        return "tasks"
    rank = f", {_RANK} AS rank" if ranked else ""
    return f"(SELECT *{rank} FROM tasks WHERE {_MATCHES} OFFSET 0) AS tasks"


def _where(conditions: frozenset[str]) -> str:
    return "".join(f" AND {_CONDITIONS[name]}" for name in sorted(conditions - {"q"}))


# A list's counts (migration 0010); the Inbox's `list_key` is 0.
_LIST_COUNT = "WHERE user_id = :owner AND list_key"


def _total(conditions: frozenset[str]) -> str:
    """The size of the filtered set: from the counts the triggers keep per user (migration
    0002) and per list (0010) when they cover the filter, else counted (its cost follows the
    matches)."""
    if conditions <= {"completed", "list_id"} or conditions <= {"completed", "inbox"}:
        counted = "total"
        if "completed" in conditions:
            counted = "CASE WHEN :completed THEN completed ELSE total - completed END"
        if "list_id" in conditions:
            return f"(SELECT {counted} FROM task_list_counts {_LIST_COUNT} = :list_id)"
        if "inbox" in conditions:
            return f"(SELECT {counted} FROM task_list_counts {_LIST_COUNT} = 0)"
        return f"(SELECT {counted} FROM task_counts WHERE user_id = :owner)"
    return (
        f"(SELECT count(*) FROM {_source(conditions)} WHERE user_id = :owner{_where(conditions)})"
    )


SortKey = Literal["created", "updated", "priority", "position"]
# The sorts a client names, and the best matches first of a search (`q` without `sort`).
Order = SortKey | Literal["rank"]
# Each sort's columns, the last ones breaking ties; every column in the sort's direction.
_SORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "created": ("created_at", "id"),
    "updated": ("updated_at", "id"),
    "priority": ("priority", "created_at", "id"),
    "position": ("position", "id"),
    "rank": ("rank", "created_at", "id"),
}
# The largest value of a sort's leading integer column a cursor may carry.
_HEAD_MAX = {"priority": 3, "rank": MAX_BIGINT}
# The columns a statement computes rather than reads.
_COMPUTED = {"position": POSITION_KEY}


def _column(name: str, table: str = "") -> str:
    """How a statement reads a returned column (of `table`, when given)."""
    computed = _COMPUTED.get(name)
    if computed is None:
        return f"{table}{name}"
    if table:
        computed = re.sub(r"\b(position|created_at|id)\b", rf"{table}\1", computed)
    return f"{computed} AS {name}"


@dataclass(frozen=True)
class Sort:
    """A list's order and its keyset: `created` descending (newest first) is the seed's.

    Each sort a client names has an index that leads with user_id and holds its columns in
    its order (migrations 0001 and 0007), so a page, and its continuation after a cursor, is
    a range scan in either direction. `rank` orders a search's matches, which it reads whole
    (their cost, not the table's).
    """

    key: Order = "created"
    descending: bool = True

    @property
    def columns(self) -> tuple[str, ...]:
        return _SORT_COLUMNS[self.key]

    def _expressions(self) -> list[str]:
        return [_COMPUTED.get(column, column) for column in self.columns]

    def order_by(self) -> str:
        direction = "DESC" if self.descending else "ASC"
        # A list's order is read within one list: naming the list's column too lets the
        # planner use the index for the Inbox (`list_id IS NULL` is no equality it knows).
        leading = ["list_id"] if self.key == "position" else []
        return ", ".join(f"{column} {direction}" for column in [*leading, *self._expressions()])

    def after(self) -> str:
        """The keyset condition: rows past the cursor's values, in the sort's direction."""
        columns = ", ".join(self._expressions())
        values = ", ".join(f":after_{column}" for column in self.columns)
        return f"({columns}) {'<' if self.descending else '>'} ({values})"

    def bind_after(self, after: Position) -> dict[str, Any]:
        return {f"after_{column}": value for column, value in zip(self.columns, after, strict=True)}

    @property
    def _code(self) -> str | None:
        """The cursor's tag; none for the seed's order, whose cursors predate sorting."""
        if self.key == "created" and self.descending:
            return None
        return ("m" if self.key == "position" else self.key[0]) + ("d" if self.descending else "a")

    def encode_values(self, after: Position) -> str:
        """The opaque position after a task with these values of the sort's columns."""
        if self.key == "position":
            return _wrap(".".join([cast(str, self._code), *map(str, after)]))
        *head, moment, task_id = after
        micros = (moment - _EPOCH) // timedelta(microseconds=1)
        fields = [self._code] if self._code else []
        return _wrap(".".join([*fields, *map(str, head), str(micros), str(task_id)]))

    def decode(self, cursor: str) -> Position | None:
        """The position `encode_values` wrote for this order, else None (another order's, or
        not one)."""
        if self.key == "position":
            found = _unwrap(cursor, _POSITION_CURSOR)
            if found is None or f"m{found[1]}" != self._code or not 0 < int(found[3]) <= MAX_BIGINT:
                return None
            return found[2], int(found[3])
        match = _unwrap(cursor, _CURSOR)
        if match is None or match[1] != self._code or not 0 < int(match[4]) <= MAX_BIGINT:
            return None
        head_max = _HEAD_MAX.get(self.key)
        if (match[2] is None) != (head_max is None):
            return None
        if match[2] is not None and int(match[2]) > cast(int, head_max):
            return None
        try:
            moment = _EPOCH + timedelta(microseconds=int(match[3]))
        except OverflowError:
            return None
        head = () if match[2] is None else (int(match[2]),)
        return (*head, moment, int(match[4]))


# The seed's order, and the trash's: newest first.
NEWEST_FIRST = Sort()


@dataclass(frozen=True)
class TaskFilter:
    """The tasks a list shows: every condition given (None or empty: no condition)."""

    completed: bool | None = None
    priority: int | None = None
    labels: tuple[str, ...] = ()
    list_id: int | None = None
    inbox: bool = False
    q: str | None = None

    def conditions(self) -> frozenset[str]:
        return frozenset(name for name, value in self._values().items() if value not in (None, []))

    def _values(self) -> dict[str, Any]:
        return {
            "completed": self.completed,
            "priority": self.priority,
            "labels": list(self.labels),
            "list_id": self.list_id,
            "inbox": True if self.inbox else None,
            "q": self.q,
        }

    def bind(self) -> dict[str, Any]:
        values = self._values()
        return {name: values[name] for name in self.conditions() - {"inbox"}}


# Into the trash, whole, at the delete's version (its tombstone's, from the delete trigger):
# the tasks a `gone` CTE deleted, in the statement that deleted them (so one transaction).
TRASH_GONE = """
INSERT INTO task_trash (user_id, task_id, version, task)
SELECT user_id, id, version + 1,
       to_jsonb(gone) - 'change_seq' || jsonb_build_object('version', version + 1)
FROM gone"""
LIST_COLUMNS = ", ".join(_identifiers(ListPublic.__annotations__))


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
        columns = ", ".join(map(_column, self.returned))
        written = ", ".join(self.written)
        values = ", ".join(f":{name}" for name in self.written)
        assignments = ", ".join(f"{name} = :{name}" for name in self.written)
        self._select = f"SELECT {columns}"
        self._returning = f"RETURNING {columns}"
        where_owned = "WHERE id = :id AND user_id = :owner"
        # A conditional write (If-Match) names the versions it was made against; NULL: any.
        self._where_expected = where_expected = (
            f"{where_owned} AND (:expected::integer[] IS NULL OR version = ANY(:expected))"
        )
        self._pages: dict[tuple[frozenset[str], bool, Sort], Statement] = {}
        self._counts: dict[frozenset[str], Statement] = {}
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
            f"UPDATE tasks SET {assignments}, updated_at = now() {where_expected} "
            + self._returning
        )
        # NULL toggles, reading and writing in one statement, so two concurrent toggles cannot
        # both flip from the same old value.
        self.complete = Statement.compile(
            "UPDATE tasks SET completed = coalesce(:completed, NOT completed), "
            f"updated_at = now() {where_expected} {self._returning}"
        )
        # A delete moves the task into the trash, whole, at the delete's version (its
        # tombstone's, from the delete trigger): one statement, so one transaction.
        self.delete = Statement.compile(
            f"WITH gone AS (DELETE FROM tasks {where_expected} RETURNING *) {TRASH_GONE}"
            " RETURNING task_id"
        )
        trashed = ", ".join(_column(name, "r.") for name in self.returned)
        # The trash, latest first: each task as it was, in the task's own shape.
        self.trash_pages = {
            keyset: Statement.compile(
                f"""
SELECT {trashed}, t.trashed_at,
       (SELECT count(*) FROM task_trash WHERE user_id = :owner) AS total
FROM task_trash t, jsonb_populate_record(NULL::tasks, t.task) r
WHERE t.user_id = :owner
{"AND (t.trashed_at, t.task_id) < (:after_created_at, :after_id)" if keyset else ""}
ORDER BY t.trashed_at DESC, t.task_id DESC LIMIT :limit"""
            )
            for keyset in (False, True)
        }
        self.trash_version = Statement.compile(
            "SELECT version FROM task_trash WHERE user_id = :owner AND task_id = :id"
        )
        # Back where it was, with the same id, one version on from the delete: in its list, or
        # the Inbox when the list has gone since.
        self.restore = Statement.compile(
            f"""
WITH back AS (
    DELETE FROM task_trash
    WHERE user_id = :owner AND task_id = :id
      AND (:expected::integer[] IS NULL OR version = ANY(:expected))
    RETURNING task, version
)
INSERT INTO tasks
SELECT (jsonb_populate_record(NULL::tasks, task || jsonb_build_object(
    'version', version + 1, 'updated_at', now(),
    'list_id', (SELECT id FROM task_lists
                WHERE user_id = :owner AND id = (task->>'list_id')::bigint)))).*
FROM back {self._returning}"""
        )
        self.discard = Statement.compile(
            "DELETE FROM task_trash WHERE user_id = :owner AND task_id = :id RETURNING task_id"
        )
        self.empty_trash = Statement.compile(
            "WITH emptied AS (DELETE FROM task_trash WHERE user_id = :owner RETURNING 1)"
            " SELECT count(*) FROM emptied"
        )
        self.trash_count = Statement.compile(
            "SELECT count(*) FROM task_trash WHERE user_id = :owner"
        )
        # Anyone's tasks past the retention, a bounded batch at a time (oldest first).
        self.purge_trash = Statement.compile(
            """
WITH purged AS (
    DELETE FROM task_trash WHERE (user_id, task_id) IN (
        SELECT user_id, task_id FROM task_trash
        WHERE trashed_at < now() - :retention::interval
        ORDER BY trashed_at LIMIT :batch FOR UPDATE SKIP LOCKED)
    RETURNING 1
) SELECT count(*) FROM purged"""
        )
        # The change feed, read in one snapshot: the user's counter, then the tasks and the
        # tombstones numbered after the cursor, each an index range scan in commit order.
        self.sync = Statement.compile(
            "SELECT seq, purged_seq FROM task_sync WHERE user_id = :owner"
        )
        self.changed = Statement.compile(
            f"{self._select}, change_seq FROM tasks WHERE user_id = :owner AND change_seq > :since"
            " ORDER BY change_seq LIMIT :limit"
        )
        self.lists_changed = Statement.compile(
            f"SELECT {LIST_COLUMNS}, change_seq FROM task_lists"
            " WHERE user_id = :owner AND change_seq > :since ORDER BY change_seq LIMIT :limit"
        )
        self.deleted = Statement.compile(
            "SELECT change_seq, task_id, version, type FROM task_tombstones"
            " WHERE user_id = :owner AND change_seq > :since ORDER BY change_seq LIMIT :limit"
        )
        # Tombstones past the retention go; a cursor from before the newest of them may have
        # missed a delete, which `purged_seq` remembers.
        self.purge = Statement.compile(
            """
WITH purged AS (
    DELETE FROM task_tombstones
    WHERE user_id = :owner AND deleted_at < now() - :retention::interval
    RETURNING change_seq
)
UPDATE task_sync SET purged_seq = greatest(purged_seq, (SELECT max(change_seq) FROM purged))
WHERE user_id = :owner AND EXISTS (SELECT FROM purged)"""
        )

    def page(self, conditions: frozenset[str], keyset: bool, sort: Sort) -> Statement:
        """A page of the tasks that meet `conditions` (names of `_CONDITIONS`) in `sort`'s
        order, resumed after a keyset position or not, each row carrying the filtered total.

        A page is an index range scan of the sort's index (for the seed's order with
        `completed`, of (user_id, completed, created_at DESC, id DESC)), so no page scans more
        than it returns apart from the rows an OFFSET skips or a filter the index does not
        hold. One statement per (filters, keyset, sort) rather than `:x IS NULL OR ...`, so
        each keeps a plan that uses its index.
        """
        statement = self._pages.get((conditions, keyset, sort))
        if statement is None:
            ranked = sort.key == "rank"
            if ranked and "q" not in conditions:
                raise ValueError("the rank order is a search's")
            # The sort's columns a task does not return (its rank): for the cursor.
            extra = "".join(f", {c}" for c in sort.columns if c not in self.returned)
            statement = self._pages[conditions, keyset, sort] = Statement.compile(
                f"""{self._select}{extra}, coalesce({_total(conditions)}, 0) AS total
FROM {_source(conditions, ranked)} WHERE user_id = :owner{_where(conditions)}
{f"AND {sort.after()}" if keyset else ""}
ORDER BY {sort.order_by()} LIMIT :limit OFFSET :offset"""
            )
        return statement

    def count(self, conditions: frozenset[str]) -> Statement:
        statement = self._counts.get(conditions)
        if statement is None:
            statement = self._counts[conditions] = Statement.compile(
                f"SELECT coalesce({_total(conditions)}, 0)"
            )
        return statement

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
                f"{self._where_expected} {self._returning}"
            )
        return statement


STATEMENTS = TaskStatements.for_schemas(TaskPublic, TaskBase)


def _wrong_list() -> Exception:
    return invalid(
        ("body", "list_id"), "must be one of your lists, or null for the Inbox", "unknown_list"
    )


def _task(row: Any) -> TaskPublic | None:
    return None if row is None else cast(TaskPublic, dict(row))


def encode_position(after: Position) -> str:
    """The cursor after a (time, id) position: the seed's order's, and the trash's."""
    return NEWEST_FIRST.encode_values(after)


async def list_tasks(
    db: Database,
    owner: str,
    *,
    keep: TaskFilter,
    limit: int,
    offset: int,
    after: Position | None = None,
    sort: Sort = NEWEST_FIRST,
) -> tuple[list[TaskPublic], int, Position | None]:
    """A page in `sort`'s order (after `after` when given), the size of the whole filtered
    set, and the position after the page when more rows follow it.

    One row more than the page is read to tell whether there is a next page. A page past the
    end has no row to carry the total: only then a second query reads it.
    """
    conditions, values = keep.conditions(), keep.bind()
    statement = STATEMENTS.page(conditions, after is not None, sort)
    keyset = {} if after is None else sort.bind_after(after)
    rows = await db.fetch(
        *statement.bind(owner=owner, limit=limit + 1, offset=offset, **values, **keyset)
    )
    if not rows:
        if not (offset or after):
            return [], 0, None
        total = await db.fetchval(*STATEMENTS.count(conditions).bind(owner=owner, **values))
        return [], total, None
    more = len(rows) > limit
    resume = tuple(rows[limit - 1][column] for column in sort.columns) if more else None
    page = [dict(row) for row in rows[:limit]]
    extra = set(page[0]) - set(STATEMENTS.returned)
    for task in page:
        for name in extra:
            del task[name]
    return cast(list[TaskPublic], page), rows[0]["total"], resume


async def get_task(db: Database, owner: str, task_id: int) -> TaskPublic | None:
    return _task(await db.fetchrow(*STATEMENTS.get.bind(id=task_id, owner=owner)))


async def _write(db: Queries, statement: tuple[Any, ...]) -> Any:
    """A task's row as written; a `list_id` that is not one of the owner's lists (the foreign
    key (user_id, list_id) refuses it, another user's list included) is a 400."""
    try:
        return await db.fetchrow(*statement)
    except asyncpg.ForeignKeyViolationError:
        raise _wrong_list() from None


async def create_task(db: Database, owner: str, task: TaskBase) -> TaskPublic:
    row = await _write(db, STATEMENTS.insert.bind(owner=owner, **task.model_dump()))
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
        row = await _write(db, insert)
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


# The versions a conditional write (If-Match) accepts; None: any (no If-Match, or `*`).
Expected = Sequence[int] | None


async def replace_task(
    db: Database, owner: str, task_id: int, task: TaskBase, expected: Expected = None
) -> TaskPublic | None:
    """The task as replaced, or None when it is not the caller's or not at an expected version."""
    statement = STATEMENTS.replace.bind(
        id=task_id, owner=owner, expected=expected, **task.model_dump()
    )
    return _task(await _write(db, statement))


async def update_task(
    db: Database, owner: str, task_id: int, patch: TaskPatch, expected: Expected = None
) -> TaskPublic | None:
    """Change the fields the client sent (an explicit null description clears it)."""
    changes = patch.model_dump(exclude_unset=True)
    statement = STATEMENTS.patch(changes).bind(
        id=task_id, owner=owner, expected=expected, **changes
    )
    return _task(await _write(db, statement))


async def set_completed(
    db: Database, owner: str, task_id: int, completed: bool | None, expected: Expected = None
) -> TaskPublic | None:
    """Set the flag, or flip it when `completed` is None."""
    statement = STATEMENTS.complete.bind(
        id=task_id, owner=owner, completed=completed, expected=expected
    )
    return _task(await db.fetchrow(*statement))


async def delete_task(
    db: Database, owner: str, task_id: int, expected: Expected = None, *, retention: timedelta
) -> bool:
    """Delete the task (its tombstone joins the feed); tombstones past `retention` go too."""
    statement = STATEMENTS.delete.bind(id=task_id, owner=owner, expected=expected)
    deleted = await db.fetchval(*statement) is not None
    if deleted:
        await db.fetchval(*STATEMENTS.purge.bind(owner=owner, retention=retention))
    return deleted


async def list_trash(
    db: Database, owner: str, *, limit: int, after: Position | None = None
) -> tuple[list[TaskPublic], int, Position | None]:
    """A page of the trash, latest first, its size, and the position after the page when more
    follow."""
    keyset = {} if after is None else {"after_created_at": after[0], "after_id": after[1]}
    statement = STATEMENTS.trash_pages[after is not None]
    rows = await db.fetch(*statement.bind(owner=owner, limit=limit + 1, **keyset))
    if not rows:
        total = 0 if after is None else await db.fetchval(*STATEMENTS.trash_count.bind(owner=owner))
        return [], total, None
    page = [dict(row) for row in rows[:limit]]
    last = page[-1]["trashed_at"], page[-1]["id"]
    for task in page:
        del task["trashed_at"], task["total"]
    return cast(list[TaskPublic], page), rows[0]["total"], last if len(rows) > limit else None


async def restore_task(
    db: Database, owner: str, task_id: int, expected: Expected = None
) -> TaskPublic | None:
    """The task back from the trash, or None when the trash does not hold it at an expected
    version."""
    statement = STATEMENTS.restore.bind(id=task_id, owner=owner, expected=expected)
    try:
        return _task(await db.fetchrow(*statement))
    except asyncpg.ForeignKeyViolationError:
        # Its list went while it came back: now it is gone, so this goes to the Inbox.
        return _task(await db.fetchrow(*statement))


async def trashed_version(db: Database, owner: str, task_id: int) -> int | None:
    version: int | None = await db.fetchval(*STATEMENTS.trash_version.bind(owner=owner, id=task_id))
    return version


async def discard_task(db: Database, owner: str, task_id: int) -> bool:
    """Delete a trashed task for good."""
    return await db.fetchval(*STATEMENTS.discard.bind(owner=owner, id=task_id)) is not None


async def empty_trash(db: Database, owner: str) -> int:
    """Delete every trashed task of the caller for good; how many."""
    emptied: int = await db.fetchval(*STATEMENTS.empty_trash.bind(owner=owner))
    return emptied


async def purge_trash(db: Queries, retention: timedelta, batch: int) -> int:
    """Delete one batch of anyone's tasks trashed longer than `retention` ago; how many."""
    purged: int = await db.fetchval(*STATEMENTS.purge_trash.bind(retention=retention, batch=batch))
    return purged


@dataclass(frozen=True)
class FeedPosition:
    """Where a reader of the change feed is: after the user's change `seq`, as of `issued`."""

    seq: int
    issued: datetime

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    def encode(self) -> str:
        return _wrap(f"{self.seq}.{int(self.issued.timestamp())}")

    @classmethod
    def decode(cls, cursor: str) -> FeedPosition | None:
        """The position `encode` wrote, or None when `cursor` is not one."""
        match = _unwrap(cursor, _FEED_CURSOR)
        if match is None or int(match[1]) > MAX_BIGINT:
            return None
        try:
            return cls(int(match[1]), datetime.fromtimestamp(int(match[2]), UTC))
        except (OverflowError, ValueError, OSError):
            return None


class FeedRefused(Exception):
    """The cursor cannot be resumed: not one this user was given (`gone` False), or older
    than what the feed still holds (`gone` True: start again without one)."""

    def __init__(self, *, gone: bool) -> None:
        self.gone = gone


async def changes(
    db: Database, owner: str, since: FeedPosition | None, limit: int, *, retention: timedelta
) -> tuple[list[tuple[int, Change]], FeedPosition, bool]:
    """The caller's changes after `since` in commit order (from the start: every live task),
    each with its change number, where the next read resumes, and whether more follow at once.

    One snapshot for the counter and both reads, so the cursor returned at the end of the feed
    is exactly what this read saw. Numbers commit in order per user (migration 0004), so
    nothing committed later can land before that cursor.
    """
    now = datetime.now(UTC)
    if since is not None and since.issued < now - retention:
        raise FeedRefused(gone=True)
    after = 0 if since is None else since.seq
    async with db.snapshot() as queries:
        sync = await queries.fetchrow(*STATEMENTS.sync.bind(owner=owner))
        seq, purged = (sync["seq"], sync["purged_seq"]) if sync else (0, 0)
        if since is not None and (since.seq > seq or since.issued > now + _CLOCK_SKEW):
            raise FeedRefused(gone=False)
        if since is not None and since.seq < purged:
            raise FeedRefused(gone=True)
        bound = {"owner": owner, "since": after, "limit": limit + 1}
        upserted = await queries.fetch(*STATEMENTS.changed.bind(**bound))
        lists = await queries.fetch(*STATEMENTS.lists_changed.bind(**bound))
        # From the start, a tombstone is of a task or list this reader never had.
        deleted = [] if since is None else await queries.fetch(*STATEMENTS.deleted.bind(**bound))
    numbered: list[tuple[int, Change]] = [(r["change_seq"], _upserted(r)) for r in upserted]
    numbered += [(row["change_seq"], _list_upserted(row)) for row in lists]
    numbered += [(row["change_seq"], _deleted(row)) for row in deleted]
    numbered.sort(key=lambda change: change[0])
    page = numbered[: limit + 1]
    more = len(page) > limit
    resume = page[limit - 1][0] if more else seq
    return page[:limit], FeedPosition(resume, now), more


async def feed_end(db: Database, owner: str) -> FeedPosition:
    """Where the caller's feed ends now: a live stream without Last-Event-ID starts here."""
    sync = await db.fetchrow(*STATEMENTS.sync.bind(owner=owner))
    return FeedPosition(sync["seq"] if sync else 0, datetime.now(UTC))


def _upserted(row: Any) -> TaskUpserted:
    task = dict(row)
    del task["change_seq"]
    return {
        "op": "upsert",
        "type": "task",
        "id": task["id"],
        "version": task["version"],
        "task": cast(TaskPublic, task),
    }


def _list_upserted(row: Any) -> ListUpserted:
    found = dict(row)
    del found["change_seq"]
    return {
        "op": "upsert",
        "type": "list",
        "id": found["id"],
        "version": found["version"],
        "list": cast(ListPublic, found),
    }


def _deleted(row: Any) -> TaskDeleted | ListDeleted:
    return {"op": "delete", "type": row["type"], "id": row["task_id"], "version": row["version"]}


# The key of a task created now with the largest id: one before every key a list has (keys
# fall as time passes, `task_position`), so a task moved first still comes after tasks created
# later, as a new task always does.
_FIRST_NOW = "task_position(now(), 9223372036854775807)"
_MOVING = Statement.compile(
    f"SELECT id, list_id, {POSITION_KEY} AS position, {_FIRST_NOW} AS first_now"
    " FROM tasks WHERE user_id = :owner AND id = ANY(:ids::bigint[])"
)
_MOVE = Statement.compile(
    "UPDATE tasks SET position = :position, list_id = :list_id::bigint, updated_at = now() "
    f"{STATEMENTS._where_expected} {STATEMENTS._returning}"
)
# New keys for a run of a list's tasks, the moved one among them, in one statement.
_SPREAD = Statement.compile(
    f"""
WITH written AS (
    UPDATE tasks t SET position = k.position,
        list_id = CASE WHEN t.id = :id THEN :list_id::bigint ELSE t.list_id END,
        updated_at = CASE WHEN t.id = :id THEN now() ELSE t.updated_at END
    FROM unnest(:ids::bigint[], :keys::text[]) AS k(id, position)
    WHERE t.id = k.id AND t.user_id = :owner
      AND (t.id <> :id OR :expected::integer[] IS NULL OR t.version = ANY(:expected))
    RETURNING t.*
)
SELECT {", ".join(map(_column, STATEMENTS.returned))} FROM written WHERE id = :id"""
)


def _side(inbox: bool, lower: bool, inclusive: bool) -> Statement:
    """The tasks of a list on one side of a point of its order, nearest first, but the moved
    one."""
    listed = "list_id IS NULL" if inbox else "list_id = :list_id"
    compare = ("<" if lower else ">") + ("=" if inclusive else "")
    direction = "DESC" if lower else "ASC"
    return Statement.compile(
        f"SELECT id, {POSITION_KEY} AS position FROM tasks"
        f" WHERE user_id = :owner AND {listed} AND id <> :id"
        f" AND ({POSITION_KEY}, id) {compare} (:key, :pivot)"
        f" ORDER BY list_id {direction}, {POSITION_KEY} {direction}, id {direction} LIMIT :limit"
    )


_SIDES = {
    (inbox, lower, inclusive): _side(inbox, lower, inclusive)
    for inbox in (False, True)
    for lower in (False, True)
    for inclusive in (False, True)
}
# Tasks re-keyed around a gap grown too long: a run of this many each side, then wider.
_SPREAD_WIDTHS = (32, 1024, 2**31)


class _SameList:
    """A move that keeps the task in its list."""


SAME_LIST = _SameList()
ListChoice = int | None | _SameList


@dataclass(frozen=True)
class Placement:
    """Where a move puts a task: next to `anchor` (`before` it, or after it), or first."""

    anchor: int | None = None
    before: bool = False


async def move_task(
    db: Database,
    owner: str,
    task_id: int,
    place: Placement,
    to_list: ListChoice,
    expected: Expected = None,
) -> TaskPublic | None:
    """Put the task at `place` in list `to_list` (None: the Inbox; `SAME_LIST`: where it is);
    None when it is not the caller's or not at an expected version.

    The task takes a key between its new neighbours' and nothing else is written. When no
    short key fits there (the gap was split too often, or two tasks share a key), the keys of
    a run of tasks around it are spread evenly instead, in the same one statement.
    """
    ids = [task_id] if place.anchor is None else [task_id, place.anchor]
    rows = {row["id"]: row for row in await db.fetch(*_MOVING.bind(owner=owner, ids=ids))}
    if task_id not in rows:
        return None
    first_now = rows[task_id]["first_now"]
    target = rows[task_id]["list_id"] if isinstance(to_list, _SameList) else to_list
    if place.anchor is None:
        pivot: tuple[str, int] = ("", 0)
    else:
        anchor = rows.get(place.anchor)
        side = "before" if place.before else "after"
        if anchor is None or place.anchor == task_id or anchor["list_id"] != target:
            msg = "must be another task of the list the task is moved to"
            raise invalid(("body", side), msg, "not_in_list")
        pivot = (anchor["position"], anchor["id"])

    async def around(limit: int) -> tuple[list[Any], list[Any]]:
        bound = {"owner": owner, "id": task_id, "key": pivot[0], "pivot": pivot[1], "limit": limit}
        if target is not None:
            bound["list_id"] = target
        inbox = target is None
        lower: list[Any] = []
        if place.anchor is not None:
            statement = _SIDES[inbox, True, not place.before]
            lower = await db.fetch(*statement.bind(**bound))
        statement = _SIDES[inbox, False, place.anchor is None or place.before]
        upper = await db.fetch(*statement.bind(**bound))
        return lower, upper

    lower, upper = await around(1)
    low = lower[0]["position"] if lower else first_now
    high = upper[0]["position"] if upper else None
    if high is None or low < high:
        key = key_between(low, high)
        if len(key) <= MAX_KEY:
            statement = _MOVE.bind(
                id=task_id, owner=owner, expected=expected, position=key, list_id=target
            )
            return _task(await _write(db, statement))
    for width in _SPREAD_WIDTHS:
        lower, upper = await around(width + 1)
        low = lower[width]["position"] if len(lower) > width else first_now
        high = upper[width]["position"] if len(upper) > width else None
        run = [row["id"] for row in reversed(lower[:width])] + [task_id]
        run += [row["id"] for row in upper[:width]]
        if high is None or low < high:
            keys = spread(low, high, len(run))
            if max(map(len, keys)) <= MAX_KEY:
                break
    statement = _SPREAD.bind(
        id=task_id, owner=owner, expected=expected, list_id=target, ids=run, keys=keys
    )
    return _task(await _write(db, statement))

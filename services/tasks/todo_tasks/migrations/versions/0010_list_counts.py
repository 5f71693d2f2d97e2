"""Counts per list: the `X-Total-Count` of a list's or the Inbox's page, read, not counted.

`?list_id=` and `?inbox=true` counted their matching rows on every page (100,000 for a big
Inbox: 110 ms a page). `task_list_counts` holds each user's total and completed count per list
(`list_key` 0 for the Inbox; list ids start at 1), kept exact by statement triggers as
`task_counts` is (migration 0002).

The backfill takes no table lock. The triggers are created (and committed) first, so every
write after them is counted; then each user's counts are set to the exact figure in a short
transaction of its own that first locks the user's `task_sync` row. Every write to a user's
tasks takes that row's lock (the numbering triggers of migration 0004) before its count
trigger runs and keeps it until it commits, so at that moment every earlier write of the user
is committed (and counted below) and every later one waits, then adds its change on top. Only
one user's writers wait at a time, for as long as counting that user's tasks takes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As migration 0002's: per-(user, list) deltas, rows touched in key order, nothing written for a
# statement that moves no task between lists and completes none.
_APPLY_DELTAS = """
    INSERT INTO task_list_counts AS c (user_id, list_key, total, completed)
    SELECT user_id, list_key, sum(n), sum(done) FROM ({rows}) AS d
    GROUP BY user_id, list_key HAVING sum(n) <> 0 OR sum(done) <> 0 ORDER BY user_id, list_key
    ON CONFLICT (user_id, list_key) DO UPDATE
    SET total = c.total + excluded.total, completed = c.completed + excluded.completed
"""
_ADDED = (
    "SELECT user_id, coalesce(list_id, 0) AS list_key, 1 AS n, completed::int AS done FROM new_rows"
)
_REMOVED = (
    "SELECT user_id, coalesce(list_id, 0) AS list_key, -1 AS n, -completed::int AS done"
    " FROM old_rows"
)
_TRIGGERS = {
    "insert": ("NEW TABLE AS new_rows", _ADDED),
    "delete": ("OLD TABLE AS old_rows", _REMOVED),
    "update": ("OLD TABLE AS old_rows NEW TABLE AS new_rows", f"{_ADDED} UNION ALL {_REMOVED}"),
}
# One user's exact counts, in a transaction of its own: the lock first, so the count's snapshot
# (taken by the statement after it) holds every write that was waiting on it.
_BACKFILL_USER = (
    "BEGIN",
    "SELECT FROM task_sync WHERE user_id = :owner FOR UPDATE",
    "DELETE FROM task_list_counts WHERE user_id = :owner",
    "INSERT INTO task_list_counts (user_id, list_key, total, completed)"
    " SELECT user_id, coalesce(list_id, 0), count(*), count(*) FILTER (WHERE completed)"
    " FROM tasks WHERE user_id = :owner GROUP BY 1, 2",
    "COMMIT",
)


def upgrade() -> None:
    op.create_table(
        "task_list_counts",
        sa.Column("user_id", sa.Text(), primary_key=True),
        sa.Column("list_key", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("completed", sa.BigInteger(), nullable=False),
    )
    for event, (transition, rows) in _TRIGGERS.items():
        op.execute(
            f"CREATE FUNCTION task_list_counts_{event}() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN {_APPLY_DELTAS.format(rows=rows)}; RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER task_list_counts_{event} AFTER {event.upper()} ON tasks"
            f" REFERENCING {transition} FOR EACH STATEMENT"
            f" EXECUTE FUNCTION task_list_counts_{event}()"
        )
    op.execute(
        "CREATE FUNCTION task_list_counts_truncate() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN TRUNCATE task_list_counts; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER task_list_counts_truncate AFTER TRUNCATE ON tasks"
        " FOR EACH STATEMENT EXECUTE FUNCTION task_list_counts_truncate()"
    )
    with op.get_context().autocommit_block():
        connection = op.get_bind()
        owners = (
            connection.execute(sa.text("SELECT user_id FROM task_sync ORDER BY user_id"))
            .scalars()
            .all()
        )
        for owner in owners:
            for statement in _BACKFILL_USER:
                connection.execute(sa.text(statement), {"owner": owner})


def downgrade() -> None:
    for event in (*_TRIGGERS, "truncate"):
        op.execute(f"DROP TRIGGER task_list_counts_{event} ON tasks")
        op.execute(f"DROP FUNCTION task_list_counts_{event}()")
    op.drop_table("task_list_counts")

"""Keep a list's cost flat as a user's tasks grow: per-user counts and an index per filter.

`X-Total-Count` used to be `count(*) OVER ()`, a scan of every matching row on every page.
`task_counts` holds each user's total and completed count instead, kept exact by statement
triggers in the same transaction as the change (one row per user touched per statement, so a
`COPY` of 100,000 rows is one update). `ix_tasks_user_id_completed_created_at_id` serves a
`?completed=` page, and its keyset continuation, as an index range scan.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each trigger adds its statement's per-user deltas; ON CONFLICT re-reads the locked row, so
# concurrent writers add up. Rows are touched in user_id order, so two statements touching the
# same users cannot deadlock. A delta of zero (a title edit) writes nothing.
_APPLY_DELTAS = """
    INSERT INTO task_counts AS c (user_id, total, completed)
    SELECT user_id, sum(n), sum(done) FROM ({rows}) AS d
    GROUP BY user_id HAVING sum(n) <> 0 OR sum(done) <> 0 ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE
    SET total = c.total + excluded.total, completed = c.completed + excluded.completed
"""
_ADDED = "SELECT user_id, 1 AS n, completed::int AS done FROM new_rows"
_REMOVED = "SELECT user_id, -1 AS n, -completed::int AS done FROM old_rows"
_TRIGGERS = {
    "insert": ("NEW TABLE AS new_rows", _ADDED),
    "delete": ("OLD TABLE AS old_rows", _REMOVED),
    "update": ("OLD TABLE AS old_rows NEW TABLE AS new_rows", f"{_ADDED} UNION ALL {_REMOVED}"),
}


def upgrade() -> None:
    op.create_index(
        "ix_tasks_user_id_completed_created_at_id",
        "tasks",
        ["user_id", "completed", sa.text("created_at DESC"), sa.text("id DESC")],
    )
    op.create_table(
        "task_counts",
        sa.Column("user_id", sa.Text(), primary_key=True),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("completed", sa.BigInteger(), nullable=False),
    )
    for event, (transition, rows) in _TRIGGERS.items():
        op.execute(
            f"CREATE FUNCTION task_counts_{event}() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN {_APPLY_DELTAS.format(rows=rows)}; RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER task_counts_{event} AFTER {event.upper()} ON tasks"
            f" REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION task_counts_{event}()"
        )
    op.execute(
        "CREATE FUNCTION task_counts_truncate() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN TRUNCATE task_counts; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER task_counts_truncate AFTER TRUNCATE ON tasks"
        " FOR EACH STATEMENT EXECUTE FUNCTION task_counts_truncate()"
    )
    # The tasks written before this migration; the triggers count every one after it. A writer
    # between the two would be lost, so the table is locked for the backfill.
    op.execute("LOCK TABLE tasks IN SHARE MODE")
    op.execute(
        "INSERT INTO task_counts (user_id, total, completed)"
        " SELECT user_id, count(*), count(*) FILTER (WHERE completed) FROM tasks GROUP BY user_id"
    )


def downgrade() -> None:
    for event in (*_TRIGGERS, "truncate"):
        op.execute(f"DROP TRIGGER task_counts_{event} ON tasks")
        op.execute(f"DROP FUNCTION task_counts_{event}()")
    op.drop_table("task_counts")
    op.drop_index("ix_tasks_user_id_completed_created_at_id", table_name="tasks")

"""Versions and a change feed that never skips: every write numbered per user, in commit order.

Each task gets `version` (1 on insert, +1 on every update) and `change_seq`, the per-user
number of its latest change; a delete leaves a tombstone numbered the same way. The numbers
come from the user's `task_sync` row, taken by row triggers on `tasks`, so whatever statement
writes a task (the service's, a bulk load, a script) is versioned and in the feed. That row's
lock is held until the writing transaction ends, so one user's numbers commit in order: a
reader that sees change N of a user sees every change before it, and "everything after my
cursor" never skips a change that committed late (which a shared sequence would).
Every commit that changes a user's tasks also notifies channel `task_changes` with the user id,
which wakes that user's live streams on every replica.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NEXT = """
CREATE FUNCTION task_sync_next(owner text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE numbered bigint;
BEGIN
    INSERT INTO task_sync AS s (user_id, seq) VALUES (owner, 1)
    ON CONFLICT (user_id) DO UPDATE SET seq = s.seq + 1
    RETURNING seq INTO numbered;
    PERFORM pg_notify('task_changes', owner);
    RETURN numbered;
END $$
"""
_WRITE = """
CREATE FUNCTION task_sync_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        NEW.version := OLD.version + 1;
    ELSE
        NEW.version := 1;
    END IF;
    NEW.change_seq := task_sync_next(NEW.user_id);
    RETURN NEW;
END $$
"""
_DELETE = """
CREATE FUNCTION task_sync_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO task_tombstones (user_id, change_seq, task_id, version)
    VALUES (OLD.user_id, task_sync_next(OLD.user_id), OLD.id, OLD.version + 1);
    RETURN OLD;
END $$
"""


def upgrade() -> None:
    op.add_column("tasks", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.add_column(
        "tasks", sa.Column("change_seq", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.create_table(
        "task_sync",
        sa.Column("user_id", sa.Text(), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("purged_seq", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.create_table(
        "task_tombstones",
        sa.Column("user_id", sa.Text(), primary_key=True),
        sa.Column("change_seq", sa.BigInteger(), primary_key=True),
        sa.Column("task_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "deleted_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    # The tasks written before this migration get numbers in the order they were made; the
    # triggers number every write after it. Writers wait for the backfill.
    op.execute("LOCK TABLE tasks IN SHARE ROW EXCLUSIVE MODE")
    op.execute(
        "UPDATE tasks SET change_seq = n FROM (SELECT id AS numbered, row_number()"
        " OVER (PARTITION BY user_id ORDER BY created_at, id) AS n FROM tasks) AS r"
        " WHERE id = numbered"
    )
    op.execute(
        "INSERT INTO task_sync (user_id, seq) SELECT user_id, count(*) FROM tasks GROUP BY 1"
    )
    op.create_index("ix_tasks_user_id_change_seq", "tasks", ["user_id", "change_seq"])
    for function in (_NEXT, _WRITE, _DELETE):
        op.execute(function)
    op.execute(
        "CREATE TRIGGER task_sync_write BEFORE INSERT OR UPDATE ON tasks"
        " FOR EACH ROW EXECUTE FUNCTION task_sync_write()"
    )
    op.execute(
        "CREATE TRIGGER task_sync_delete BEFORE DELETE ON tasks"
        " FOR EACH ROW EXECUTE FUNCTION task_sync_delete()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER task_sync_delete ON tasks")
    op.execute("DROP TRIGGER task_sync_write ON tasks")
    for function in ("task_sync_delete()", "task_sync_write()", "task_sync_next(text)"):
        op.execute(f"DROP FUNCTION {function}")
    op.drop_index("ix_tasks_user_id_change_seq", table_name="tasks")
    op.drop_table("task_tombstones")
    op.drop_table("task_sync")
    op.drop_column("tasks", "change_seq")
    op.drop_column("tasks", "version")

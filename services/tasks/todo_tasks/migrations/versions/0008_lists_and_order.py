"""Lists, and an order set by hand.

A list (`task_lists`) is versioned and numbered in the change feed by 0004's triggers, which
need nothing of a table but `user_id`, `version` and `change_seq`; its delete leaves a
tombstone whose `type` is 'list'. A task's `list_id` is NULL (the Inbox) or one of its
owner's lists: the foreign key is (user_id, list_id), so the database itself refuses another
user's list, and a list cannot go while a task still names it.

`position` is a task's place in its list, a key compared byte by byte (COLLATE "C"), written
only by a move. Until a task is first moved its key is `task_position(created_at, id)`, which
falls as time passes: unmoved tasks keep the newest-first order and a new task comes first,
without a write to any other task and without filling a column of the existing rows (every
statement below is quick at any size but the index builds).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Newer first: microseconds and id counted down from the top of their range, in fixed-width
# hex (so the keys compare as their numbers do), ending in a digit other than the smallest so
# a key can always be placed before it.
_POSITION = """
CREATE FUNCTION task_position(created timestamptz, id bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
SELECT lpad(to_hex(4611686018427387903 - (extract(epoch FROM created) * 1000000)::bigint), 16, '0')
    || lpad(to_hex(9223372036854775807 - id), 16, '0') || 'V'
$$
"""
# 0004's delete trigger, with the tombstone's type taken from the trigger's argument.
_DELETE = """
CREATE OR REPLACE FUNCTION task_sync_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO task_tombstones (user_id, change_seq, task_id, version, type)
    VALUES (OLD.user_id, task_sync_next(OLD.user_id), OLD.id, OLD.version + 1,
            coalesce(TG_ARGV[0], 'task'));
    RETURN OLD;
END $$
"""
_DELETE_BEFORE = """
CREATE OR REPLACE FUNCTION task_sync_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO task_tombstones (user_id, change_seq, task_id, version)
    VALUES (OLD.user_id, task_sync_next(OLD.user_id), OLD.id, OLD.version + 1);
    RETURN OLD;
END $$
"""
POSITION_KEY = "coalesce(position, task_position(created_at, id))"


def upgrade() -> None:
    op.create_table(
        "task_lists",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("position", sa.Text(collation="C"), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("change_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.UniqueConstraint("user_id", "id", name="uq_task_lists_user_id_id"),
    )
    op.create_index(
        "ix_task_lists_user_id_name", "task_lists", ["user_id", sa.text("lower(name)")], unique=True
    )
    op.create_index("ix_task_lists_user_id_position", "task_lists", ["user_id", "position", "id"])
    op.create_index("ix_task_lists_user_id_change_seq", "task_lists", ["user_id", "change_seq"])
    op.add_column(
        "task_tombstones", sa.Column("type", sa.Text(), server_default="task", nullable=False)
    )
    op.execute(_DELETE)
    op.execute(
        "CREATE TRIGGER task_sync_write BEFORE INSERT OR UPDATE ON task_lists"
        " FOR EACH ROW EXECUTE FUNCTION task_sync_write()"
    )
    op.execute(
        "CREATE TRIGGER task_sync_delete BEFORE DELETE ON task_lists"
        " FOR EACH ROW EXECUTE FUNCTION task_sync_delete('list')"
    )
    op.execute(_POSITION)
    op.add_column("tasks", sa.Column("list_id", sa.BigInteger(), nullable=True))
    op.add_column("tasks", sa.Column("position", sa.Text(collation="C"), nullable=True))
    # Every existing task is in the Inbox: nothing to check, so no scan under a lock.
    op.execute(
        "ALTER TABLE tasks ADD CONSTRAINT fk_tasks_list FOREIGN KEY (user_id, list_id)"
        " REFERENCES task_lists (user_id, id) NOT VALID"
    )
    op.execute("ALTER TABLE tasks VALIDATE CONSTRAINT fk_tasks_list")
    # A list (the Inbox: list_id IS NULL) in its order; also the foreign key's check when a
    # list goes.
    op.create_index(
        "ix_tasks_user_id_list_id_position_id",
        "tasks",
        ["user_id", "list_id", sa.text(f"({POSITION_KEY})"), "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_user_id_list_id_position_id", table_name="tasks")
    op.drop_constraint("fk_tasks_list", "tasks", type_="foreignkey")
    op.drop_column("tasks", "position")
    op.drop_column("tasks", "list_id")
    op.execute("DROP FUNCTION task_position(timestamptz, bigint)")
    op.drop_table("task_lists")
    op.execute(_DELETE_BEFORE)
    op.execute("DELETE FROM task_tombstones WHERE type <> 'task'")
    op.drop_column("task_tombstones", "type")

"""The trash: a deleted task is kept, whole, until it is restored, emptied or purged.

A delete moves the task's row into `task_trash` as JSON (`task`), so the trash holds every
field a task has, including fields added later, without a column of its own for each; a
restore puts it back with the same id. The feed sees the delete as a tombstone (the delete
trigger of migration 0004) and the restore as an insert, whose version now carries on from the
trashed one (an insert that names a version keeps it, one that does not starts at 1).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The write trigger of 0004, with what an insert's version becomes (`{inserted}`).
_WRITE = """
CREATE OR REPLACE FUNCTION task_sync_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        NEW.version := OLD.version + 1;
    ELSE
        NEW.version := {inserted};
    END IF;
    NEW.change_seq := task_sync_next(NEW.user_id);
    RETURN NEW;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "task_trash",
        sa.Column("user_id", sa.Text(), primary_key=True),
        sa.Column("task_id", sa.BigInteger(), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("task", postgresql.JSONB(), nullable=False),
        sa.Column(
            "trashed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index(
        "ix_task_trash_user_id_trashed_at_task_id",
        "task_trash",
        ["user_id", sa.text("trashed_at DESC"), sa.text("task_id DESC")],
    )
    op.create_index("ix_task_trash_trashed_at", "task_trash", ["trashed_at"])
    op.execute(_WRITE.format(inserted="greatest(coalesce(NEW.version, 1), 1)"))


def downgrade() -> None:
    op.execute(_WRITE.format(inserted="1"))
    op.drop_table("task_trash")

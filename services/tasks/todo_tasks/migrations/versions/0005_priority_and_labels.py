"""Organise tasks: a priority (0 none … 3 high) and labels, each filterable.

Both columns are added with a constant default, which PostgreSQL records in the catalogue
without rewriting the table; the running version, which neither reads nor writes them,
keeps working once this commits. The migration runs in one transaction (under the migration
lock), so writers wait while it checks the priorities and builds the label index: one pass
over the table each. A label filter matches ignoring case through `task_label_keys(labels)`,
the lowercased labels, indexed with GIN (`@>`: all of them).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LABEL_KEYS = """
CREATE FUNCTION task_label_keys(labels text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ARRAY(SELECT lower(label) FROM unnest(labels) AS label)
"""


def upgrade() -> None:
    op.add_column(
        "tasks", sa.Column("priority", sa.SmallInteger(), server_default="0", nullable=False)
    )
    op.add_column(
        "tasks",
        sa.Column(
            "labels",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
    )
    op.create_check_constraint("ck_tasks_priority", "tasks", "priority BETWEEN 0 AND 3")
    op.execute(_LABEL_KEYS)
    op.create_index(
        "ix_tasks_label_keys",
        "tasks",
        [sa.text("task_label_keys(labels)")],
        postgresql_using="gin",
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_label_keys", table_name="tasks")
    op.execute("DROP FUNCTION task_label_keys(text[])")
    op.drop_constraint("ck_tasks_priority", "tasks", type_="check")
    op.drop_column("tasks", "labels")
    op.drop_column("tasks", "priority")

"""Sorts whose pages cost the same at any depth: an index per order a list can be asked for.

`?sort=updated` and `?sort=priority` (either direction: an index scans both ways) get the
index that leads with user_id and holds the sort's columns, as the seed's order has since
0001, so a page and its keyset continuation are range scans, never a sort of the user's
tasks.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tasks_user_id_updated_at_id",
        "tasks",
        ["user_id", sa.text("updated_at DESC"), sa.text("id DESC")],
    )
    op.create_index(
        "ix_tasks_user_id_priority_created_at_id",
        "tasks",
        ["user_id", sa.text("priority DESC"), sa.text("created_at DESC"), sa.text("id DESC")],
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_user_id_priority_created_at_id", table_name="tasks")
    op.drop_index("ix_tasks_user_id_updated_at_id", table_name="tasks")

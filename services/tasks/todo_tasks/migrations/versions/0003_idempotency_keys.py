"""Remember which task each `Idempotency-Key` created, so a retried POST creates nothing new.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "task_idempotency_keys",
        sa.Column("user_id", sa.Text(), primary_key=True),
        sa.Column("key", sa.String(length=255), primary_key=True),
        sa.Column("fingerprint", sa.LargeBinary(), nullable=False),
        sa.Column("task_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index("ix_task_idempotency_keys_created_at", "task_idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_task_idempotency_keys_created_at", table_name="task_idempotency_keys")
    op.drop_table("task_idempotency_keys")

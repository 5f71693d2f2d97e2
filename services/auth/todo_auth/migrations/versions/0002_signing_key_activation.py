"""Signing keys activate at a time of their own: rotation publishes a key before it signs.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing keys were active from the moment they were created.
    op.add_column(
        "signing_keys",
        sa.Column(
            "activates_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
    )
    op.execute("UPDATE signing_keys SET activates_at = created_at")


def downgrade() -> None:
    op.drop_column("signing_keys", "activates_at")

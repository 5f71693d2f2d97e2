"""Stored emails take the canonical form signup now gives (NFKC, case folded).

Rows stored before were only lowercased; an ASCII address is already canonical, so only the
others are looked at. A row whose canonical form belongs to another row already (one person
signed up twice through a confusable spelling) keeps its old spelling, and is logged: login
reaches the canonical account.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_auth.schemas.user import canonical_email

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, email FROM users WHERE email !~ '^[ -~]*$'"))
    for user_id, email in rows.all():
        canonical = canonical_email(email)
        if canonical == email:
            continue
        taken = connection.execute(
            sa.text("SELECT 1 FROM users WHERE email = :email"), {"email": canonical}
        ).first()
        if taken:
            logger.warning(
                "email left as it was: its canonical form is taken", extra={"id": user_id}
            )
            continue
        connection.execute(
            sa.text("UPDATE users SET email = :email WHERE id = :id"),
            {"email": canonical, "id": user_id},
        )


def downgrade() -> None:
    """Nothing to undo: the old form is not kept, and canonical emails are valid in it too."""

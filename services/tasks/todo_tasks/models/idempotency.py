"""The `task_idempotency_keys` table: which task a client's `Idempotency-Key` created."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Index, LargeBinary, String, Text, func
from sqlmodel import Field, SQLModel

KEY_MAX_LENGTH = 255


class TaskIdempotencyKey(SQLModel, table=True):
    """One key of one user, written in the statement that creates its task.

    The primary key (user_id, key) is what makes concurrent duplicates create one task: the
    second insert waits for the first and then finds its row. `task_id` has no foreign key, so
    deleting a task costs nothing here; a replay that finds no task says it was deleted.
    Rows older than the expiry are deleted a few at a time by later keyed creates, through
    the `created_at` index.
    """

    __tablename__ = "task_idempotency_keys"
    __table_args__ = (Index("ix_task_idempotency_keys_created_at", "created_at"),)

    user_id: str = Field(sa_column=Column(Text, primary_key=True))
    key: str = Field(sa_column=Column(String(KEY_MAX_LENGTH), primary_key=True))
    # SHA-256 of the request's canonical body: a key reused for another request is refused.
    fingerprint: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    task_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )

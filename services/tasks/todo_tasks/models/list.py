"""The `task_lists` table: a user's lists, in the order they set (the Inbox is no row)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlmodel import Field, SQLModel

LIST_NAME_MAX_LENGTH = 100


class TaskList(SQLModel, table=True):
    """A list of tasks, versioned and in the change feed like a task (migration 0008)."""

    __tablename__ = "task_lists"
    __table_args__ = (
        # What a task's foreign key (user_id, list_id) names: a list of the task's own owner.
        UniqueConstraint("user_id", "id", name="uq_task_lists_user_id_id"),
        # Names are unique per user ignoring case.
        Index("ix_task_lists_user_id_name", "user_id", text("lower(name)"), unique=True),
        Index("ix_task_lists_user_id_position", "user_id", "position", "id"),
        Index("ix_task_lists_user_id_change_seq", "user_id", "change_seq"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    user_id: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(sa_column=Column(String(LIST_NAME_MAX_LENGTH), nullable=False))
    position: str = Field(sa_column=Column(Text(collation="C"), nullable=False))
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    version: int | None = Field(
        default=None, sa_column=Column(Integer, nullable=False, server_default=text("1"))
    )
    change_seq: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=False, server_default=text("0"))
    )

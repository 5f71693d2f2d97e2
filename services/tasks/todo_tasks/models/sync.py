"""The change feed's tables, written only by the triggers of migration 0004, and the trash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class TaskSync(SQLModel, table=True):
    """A user's change counter: `seq` numbers each write to their tasks (its row lock keeps the
    numbers in commit order); tombstones up to `purged_seq` are gone, so a cursor before it
    may have missed a delete."""

    __tablename__ = "task_sync"

    user_id: str = Field(sa_column=Column(Text, primary_key=True))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    purged_seq: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default=text("0"))
    )


class TaskTombstone(SQLModel, table=True):
    """A deleted task, kept for CHANGE_RETENTION_DAYS so the feed can say it is gone."""

    __tablename__ = "task_tombstones"

    user_id: str = Field(sa_column=Column(Text, primary_key=True))
    change_seq: int = Field(sa_column=Column(BigInteger, primary_key=True))
    task_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    # What was deleted: a 'task' or a 'list' (migration 0008).
    type: str = Field(
        default="task", sa_column=Column(Text, nullable=False, server_default=text("'task'"))
    )
    deleted_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class TaskTrash(SQLModel, table=True):
    """A deleted task, whole (`task`: its row as JSON, so fields added later are kept too),
    until it is restored, emptied or purged after TRASH_RETENTION_DAYS. `version` is the
    delete's (its tombstone's); a restore carries on from it."""

    __tablename__ = "task_trash"
    __table_args__ = (
        Index(
            "ix_task_trash_user_id_trashed_at_task_id",
            "user_id",
            text("trashed_at DESC"),
            text("task_id DESC"),
        ),
        Index("ix_task_trash_trashed_at", "trashed_at"),
    )

    user_id: str = Field(sa_column=Column(Text, primary_key=True))
    task_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    task: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    trashed_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )

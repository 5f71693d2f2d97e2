"""The `tasks` table: owned by a token subject, listed newest first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

TITLE_MAX_LENGTH = 255
DESCRIPTION_MAX_LENGTH = 10_000
PRIORITY_MAX = 3
LABELS_MAX = 20
LABEL_MAX_LENGTH = 50
# A task's place in its list: the key a move wrote, or until then one that puts newer tasks
# first (`task_position`, migration 0008). Compared byte by byte.
POSITION_KEY = "coalesce(position, task_position(created_at, id))"


class Task(SQLModel, table=True):
    """A user's task. `user_id` is the token's `sub`: no foreign key, the auth service (or
    Better Auth) owns users in another database."""

    __tablename__ = "tasks"
    # The list query's order: (user_id, created_at DESC, id DESC) serves both the filter and
    # the sort, so a page (or its keyset continuation) is an index range scan; its leading
    # column also indexes user_id alone. The second does the same for a `?completed=` page.
    __table_args__ = (
        Index(
            "ix_tasks_user_id_created_at_id", "user_id", text("created_at DESC"), text("id DESC")
        ),
        Index(
            "ix_tasks_user_id_completed_created_at_id",
            "user_id",
            "completed",
            text("created_at DESC"),
            text("id DESC"),
        ),
        # `?sort=updated` and `?sort=priority`, each direction (migration 0007).
        Index(
            "ix_tasks_user_id_updated_at_id", "user_id", text("updated_at DESC"), text("id DESC")
        ),
        Index(
            "ix_tasks_user_id_priority_created_at_id",
            "user_id",
            text("priority DESC"),
            text("created_at DESC"),
            text("id DESC"),
        ),
        # The change feed: a user's changes after a cursor, in the order they committed.
        Index("ix_tasks_user_id_change_seq", "user_id", "change_seq"),
        # `?label=`: every one of them, ignoring case (migration 0005's task_label_keys).
        Index("ix_tasks_label_keys", text("task_label_keys(labels)"), postgresql_using="gin"),
        # A list in its manual order (the Inbox: list_id IS NULL), migration 0008.
        Index(
            "ix_tasks_user_id_list_id_position_id",
            "user_id",
            "list_id",
            text(f"({POSITION_KEY})"),
            "id",
        ),
        # `?q=`: the owner's words, each under the owner's prefix (migration 0009).
        Index(
            "ix_tasks_search_keys",
            text("task_search_keys(user_id, title, description)"),
            postgresql_using="gin",
            postgresql_with={"fastupdate": "off"},
        ),
        CheckConstraint(f"priority BETWEEN 0 AND {PRIORITY_MAX}", name="ck_tasks_priority"),
        # Only a list of the task's own owner.
        ForeignKeyConstraint(
            ["user_id", "list_id"], ["task_lists.user_id", "task_lists.id"], name="fk_tasks_list"
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    user_id: str = Field(sa_column=Column(Text, nullable=False))
    title: str = Field(sa_column=Column(String(TITLE_MAX_LENGTH), nullable=False))
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    completed: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    created_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    updated_at: datetime | None = Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    priority: int = Field(
        default=0, sa_column=Column(SmallInteger, nullable=False, server_default=text("0"))
    )
    labels: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")),
    )
    list_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    position: str | None = Field(default=None, sa_column=Column(Text(collation="C"), nullable=True))
    # Set by the triggers of migration 0004 on every write, never by a statement: 1 on insert,
    # +1 on each update (the ETag), and the user's change number of the latest write.
    version: int | None = Field(
        default=None, sa_column=Column(Integer, nullable=False, server_default=text("1"))
    )
    change_seq: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=False, server_default=text("0"))
    )


class TaskCount(SQLModel, table=True):
    """A user's task counts, the list's `X-Total-Count` without a scan of their tasks.

    Written only by the triggers of migration 0002, in the transaction that changes `tasks`.
    """

    __tablename__ = "task_counts"

    user_id: str = Field(sa_column=Column(Text, primary_key=True))
    total: int = Field(sa_column=Column(BigInteger, nullable=False))
    completed: int = Field(sa_column=Column(BigInteger, nullable=False))


class TaskListCount(SQLModel, table=True):
    """A user's task counts per list (`list_key` 0: the Inbox), the `X-Total-Count` of a
    list's or the Inbox's page without a scan of its tasks.

    Written only by the triggers of migration 0010, in the transaction that changes `tasks`.
    """

    __tablename__ = "task_list_counts"

    user_id: str = Field(sa_column=Column(Text, primary_key=True))
    list_key: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    total: int = Field(sa_column=Column(BigInteger, nullable=False))
    completed: int = Field(sa_column=Column(BigInteger, nullable=False))

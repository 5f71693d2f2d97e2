"""A signed-in session and its refresh tokens (stored only as SHA-256 hashes).

A session's id is the `sid` of every access token minted for it: ending the session
(`ended_at`) is what the verifiers are told, by `sid`, so they refuse those tokens too.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, LargeBinary, func
from sqlmodel import Field, SQLModel

from todo_auth.models.user import utcnow


class Session(SQLModel, table=True):
    __tablename__ = "sessions"

    id: str = Field(primary_key=True, max_length=64)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    created_at: datetime = Field(
        default_factory=utcnow,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": func.now()},
    )
    last_used_at: datetime = Field(
        default_factory=utcnow,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": func.now()},
    )
    user_agent: str | None = Field(default=None, max_length=512)
    ended_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # Whether the verifiers were told of its end (Redis answered); the auth service retries
    # the others until they are (see `todo_auth.sessions`).
    revocation_published: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})


class RefreshToken(SQLModel, table=True):
    __tablename__ = "refresh_tokens"

    token_hash: bytes = Field(primary_key=True, sa_type=LargeBinary)
    session_id: str = Field(
        foreign_key="sessions.id", ondelete="CASCADE", index=True, max_length=64
    )
    created_at: datetime = Field(
        default_factory=utcnow,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": func.now()},
    )
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    spent_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))

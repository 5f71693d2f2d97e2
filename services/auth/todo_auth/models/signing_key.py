"""An Ed25519 signing key: the public half in clear, the private half encrypted (see keys.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, LargeBinary, func
from sqlmodel import Field, SQLModel

from todo_auth.models.user import utcnow


class SigningKey(SQLModel, table=True):
    __tablename__ = "signing_keys"

    kid: str = Field(primary_key=True, max_length=64)
    public_key: bytes = Field(sa_type=LargeBinary)
    encrypted_private_key: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = Field(
        default_factory=utcnow,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": func.now()},
    )
    # When it starts signing. A rotation publishes the new key a while before (see
    # KEY_ACTIVATION_DELAY_SECONDS), so verifiers caching the JWKS know it by then.
    activates_at: datetime = Field(
        default_factory=utcnow,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": func.now()},
    )
    # When a newer key takes over (its `activates_at`); the public key stays published until
    # every token this key signed has expired, then the row is deleted.
    retired_at: datetime | None = Field(
        default=None,
        sa_type=DateTime(timezone=True),
    )

"""Every query the auth service makes, in one place: statements over the columns of its two
tables (`User`, `SigningKey`), parameters bound by name, rows returned as those models."""

# ruff: noqa: S608  # statements are built from the models' own column names

from __future__ import annotations

import uuid
import zlib
from datetime import datetime
from typing import Any

from todo_auth.models import SigningKey, User
from todo_shared.db import Queries
from todo_shared.sql import Statement

# Serialises key creation and rotation across replicas (a transaction-scoped advisory lock).
_KEYS_LOCK_ID = zlib.crc32(b"todo_auth.signing_keys")

_USER = ", ".join(User.model_fields)
_KEY = ", ".join(SigningKey.model_fields)
_KEY_VALUES = ", ".join(f":{name}" for name in SigningKey.model_fields)

_USER_BY_EMAIL = Statement.compile(f"SELECT {_USER} FROM users WHERE email = :email")
# A concurrent signup of the same email inserts nothing and returns no row.
_ADD_USER = Statement.compile(
    "INSERT INTO users (id, email, password_hash) VALUES (:id, :email, :password_hash) "
    f"ON CONFLICT (email) DO NOTHING RETURNING {_USER}"
)
_SET_PASSWORD_HASH = Statement.compile(
    "UPDATE users SET password_hash = :password_hash WHERE id = :id"
)
_LOCK_KEYS = Statement.compile("SELECT pg_advisory_xact_lock(:lock_id)")
_PUBLISHED_KEYS = Statement.compile(
    f"SELECT {_KEY} FROM signing_keys WHERE retired_at IS NULL OR retired_at > :retired_after "
    "ORDER BY created_at DESC, kid"
)
_ACTIVE_KEY_EXISTS = Statement.compile(
    "SELECT EXISTS (SELECT FROM signing_keys WHERE retired_at IS NULL)"
)
_KEY_SIGNING_AT = Statement.compile(
    "SELECT EXISTS (SELECT FROM signing_keys WHERE activates_at <= :moment "
    "AND (retired_at IS NULL OR retired_at > :moment))"
)
_ADD_KEY = Statement.compile(f"INSERT INTO signing_keys ({_KEY}) VALUES ({_KEY_VALUES})")
_RETIRE_ACTIVE_KEYS = Statement.compile(
    "UPDATE signing_keys SET retired_at = :at WHERE retired_at IS NULL"
)
_DELETE_KEYS_RETIRED_BEFORE = Statement.compile(
    "WITH deleted AS (DELETE FROM signing_keys WHERE retired_at <= :moment RETURNING kid) "
    "SELECT count(*) FROM deleted"
)


def _user(row: Any) -> User | None:
    return None if row is None else User(**dict(row))


async def get_user_by_email(db: Queries, email: str) -> User | None:
    return _user(await db.fetchrow(*_USER_BY_EMAIL.bind(email=email)))


async def add_user(db: Queries, *, email: str, password_hash: str) -> User | None:
    """Insert a user; None when the email is taken (also when a concurrent signup just won)."""
    row = await db.fetchrow(
        *_ADD_USER.bind(id=uuid.uuid4(), email=email, password_hash=password_hash)
    )
    return _user(row)


async def set_password_hash(db: Queries, user: User, password_hash: str) -> None:
    await db.fetchval(*_SET_PASSWORD_HASH.bind(id=user.id, password_hash=password_hash))
    user.password_hash = password_hash


async def lock_signing_keys(db: Queries) -> None:
    """Held until the transaction ends: one replica at a time creates or rotates keys."""
    await db.fetchval(*_LOCK_KEYS.bind(lock_id=_KEYS_LOCK_ID))


async def published_keys(db: Queries, *, retired_after: datetime) -> list[SigningKey]:
    """Keys in use or retired recently enough that tokens they signed may still be live.

    Newest first, so the first unretired one is the key to sign with.
    """
    rows = await db.fetch(*_PUBLISHED_KEYS.bind(retired_after=retired_after))
    return [SigningKey(**dict(row)) for row in rows]


async def active_key_exists(db: Queries) -> bool:
    return bool(await db.fetchval(*_ACTIVE_KEY_EXISTS.bind()))


async def key_signing_at(db: Queries, moment: datetime) -> bool:
    """Whether some key is activated and not yet retired at `moment`."""
    return bool(await db.fetchval(*_KEY_SIGNING_AT.bind(moment=moment)))


async def add_signing_key(db: Queries, key: SigningKey) -> None:
    await db.fetchval(*_ADD_KEY.bind(**key.model_dump()))


async def retire_active_keys(db: Queries, *, at: datetime) -> None:
    await db.fetchval(*_RETIRE_ACTIVE_KEYS.bind(at=at))


async def delete_keys_retired_before(db: Queries, moment: datetime) -> int:
    deleted: int = await db.fetchval(*_DELETE_KEYS_RETIRED_BEFORE.bind(moment=moment))
    return deleted

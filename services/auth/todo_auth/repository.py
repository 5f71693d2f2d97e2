"""Every query the auth service makes, in one place."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from todo_auth.models import SigningKey, User

# Serialises key creation and rotation across replicas (a transaction-scoped advisory lock).
_KEYS_LOCK_ID = zlib.crc32(b"todo_auth.signing_keys")


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.exec(select(User).where(User.email == email))
    return result.first()


async def add_user(session: AsyncSession, *, email: str, password_hash: str) -> User | None:
    """Insert a user; None when the email is taken (also when a concurrent signup just won)."""
    user = User(email=email, password_hash=password_hash)
    try:
        async with session.begin_nested():
            session.add(user)
    except IntegrityError:
        return None
    return user


async def set_password_hash(session: AsyncSession, user: User, password_hash: str) -> None:
    user.password_hash = password_hash
    session.add(user)
    await session.flush()


async def lock_signing_keys(session: AsyncSession) -> None:
    """Held until the transaction ends: one replica at a time creates or rotates keys."""
    await session.exec(select(func.pg_advisory_xact_lock(_KEYS_LOCK_ID)))


async def published_keys(session: AsyncSession, *, retired_after: datetime) -> Sequence[SigningKey]:
    """Keys in use or retired recently enough that tokens they signed may still be live.

    Newest first, so the first unretired one is the key to sign with.
    """
    result = await session.exec(
        select(SigningKey)
        .where(col(SigningKey.retired_at).is_(None) | (col(SigningKey.retired_at) > retired_after))
        .order_by(col(SigningKey.created_at).desc(), col(SigningKey.kid))
    )
    return result.all()


async def active_key_exists(session: AsyncSession) -> bool:
    result = await session.exec(
        select(SigningKey.kid).where(col(SigningKey.retired_at).is_(None)).limit(1)
    )
    return result.first() is not None


async def key_signing_at(session: AsyncSession, moment: datetime) -> bool:
    """Whether some key is activated and not yet retired at `moment`."""
    result = await session.exec(
        select(SigningKey.kid)
        .where(col(SigningKey.activates_at) <= moment)
        .where(col(SigningKey.retired_at).is_(None) | (col(SigningKey.retired_at) > moment))
        .limit(1)
    )
    return result.first() is not None


async def add_signing_key(session: AsyncSession, key: SigningKey) -> None:
    session.add(key)
    await session.flush()


async def retire_active_keys(session: AsyncSession, *, at: datetime) -> None:
    await session.exec(
        update(SigningKey).where(col(SigningKey.retired_at).is_(None)).values(retired_at=at)
    )


async def delete_keys_retired_before(session: AsyncSession, moment: datetime) -> int:
    result = await session.exec(delete(SigningKey).where(col(SigningKey.retired_at) <= moment))
    return result.rowcount

"""Every query the auth service makes, in one place: statements over the columns of its
tables (`User`, `SigningKey`, `Session`, `RefreshToken`), parameters bound by name, rows
returned as those models."""

# ruff: noqa: S608  # statements are built from the models' own column names

from __future__ import annotations

import uuid
import zlib
from datetime import datetime
from typing import Any

from todo_auth.models import Session, SigningKey, User
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


_SESSION = ", ".join(Session.model_fields)

_USER_BY_ID = Statement.compile(f"SELECT {_USER} FROM users WHERE id = :id")
_ADD_SESSION = Statement.compile(
    "INSERT INTO sessions (id, user_id, user_agent) VALUES (:id, :user_id, :user_agent)"
)
_ADD_REFRESH_TOKEN = Statement.compile(
    "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) "
    "VALUES (:token_hash, :session_id, now() + make_interval(secs => :ttl))"
)
# Spends the token if it is unspent, unexpired and its session live: one conditional UPDATE,
# so of two concurrent refreshes with one token the second finds it spent (the row lock
# makes it wait for the first, then re-check `spent_at`).
_SPEND_REFRESH_TOKEN = Statement.compile(
    "UPDATE refresh_tokens r SET spent_at = now() FROM sessions s JOIN users u ON u.id = s.user_id "
    "WHERE r.token_hash = :token_hash AND r.session_id = s.id AND r.spent_at IS NULL "
    "AND r.expires_at > now() AND s.ended_at IS NULL "
    "RETURNING s.id AS session_id, u.id AS user_id, u.email"
)
_SPENT_TOKEN_SESSION = Statement.compile(
    "SELECT session_id FROM refresh_tokens WHERE token_hash = :token_hash AND spent_at IS NOT NULL"
)
_TOUCH_SESSION = Statement.compile("UPDATE sessions SET last_used_at = now() WHERE id = :id")
_LIVE_SESSION = Statement.compile(
    f"SELECT {_SESSION} FROM sessions WHERE id = :id AND ended_at IS NULL"
)
_LIVE_SESSIONS = Statement.compile(
    f"SELECT {_SESSION} FROM sessions WHERE user_id = :user_id AND ended_at IS NULL "
    "AND last_used_at > now() - make_interval(secs => :idle) ORDER BY last_used_at DESC, id"
)
_END_SESSION = Statement.compile(
    "UPDATE sessions SET ended_at = now() WHERE id = :id AND ended_at IS NULL RETURNING id"
)
_END_USER_SESSION = Statement.compile(
    "UPDATE sessions SET ended_at = now() WHERE id = :id AND user_id = :user_id "
    "AND ended_at IS NULL RETURNING id"
)
_END_USER_SESSIONS = Statement.compile(
    "UPDATE sessions SET ended_at = now() WHERE user_id = :user_id AND ended_at IS NULL "
    "AND id <> :keep RETURNING id"
)
_MARK_PUBLISHED = Statement.compile(
    "UPDATE sessions SET revocation_published = true WHERE id = ANY(:ids)"
)
_UNPUBLISHED_ENDS = Statement.compile(
    "SELECT id FROM sessions WHERE ended_at IS NOT NULL AND NOT revocation_published "
    "AND ended_at > now() - make_interval(secs => :within) ORDER BY ended_at LIMIT :limit"
)

# Spent or not, an expired refresh token only ever gets a 401 (a spent one no longer ends its
# session: whoever refreshed since holds newer tokens). A session goes once every access token
# of it has expired after its end (its revocation matters no more), or once idle for the
# refresh lifetime (its tokens have all expired then); its refresh tokens go with it.
_PRUNE_REFRESH_TOKENS = Statement.compile(
    "WITH deleted AS (DELETE FROM refresh_tokens WHERE expires_at < now() RETURNING 1) "
    "SELECT count(*) FROM deleted"
)
_PRUNE_SESSIONS = Statement.compile(
    "WITH deleted AS (DELETE FROM sessions WHERE "
    "(ended_at < now() - make_interval(secs => :revocation_window) "
    "OR last_used_at < now() - make_interval(secs => :idle)) RETURNING 1) "
    "SELECT count(*) FROM deleted"
)


def _user(row: Any) -> User | None:
    return None if row is None else User(**dict(row))


async def get_user_by_email(db: Queries, email: str) -> User | None:
    return _user(await db.fetchrow(*_USER_BY_EMAIL.bind(email=email)))


async def get_user(db: Queries, user_id: uuid.UUID) -> User | None:
    return _user(await db.fetchrow(*_USER_BY_ID.bind(id=user_id)))


async def add_user(db: Queries, *, email: str, password_hash: str) -> User | None:
    """Insert a user; None when the email is taken (also when a concurrent signup just won)."""
    row = await db.fetchrow(
        *_ADD_USER.bind(id=uuid.uuid4(), email=email, password_hash=password_hash)
    )
    return _user(row)


async def set_password_hash(db: Queries, user: User, password_hash: str) -> None:
    await db.fetchval(*_SET_PASSWORD_HASH.bind(id=user.id, password_hash=password_hash))
    user.password_hash = password_hash


async def add_session(db: Queries, *, sid: str, user_id: uuid.UUID, user_agent: str | None) -> None:
    await db.fetchval(*_ADD_SESSION.bind(id=sid, user_id=user_id, user_agent=user_agent))


async def add_refresh_token(
    db: Queries, *, token_hash: bytes, session_id: str, ttl_seconds: int
) -> None:
    await db.fetchval(
        *_ADD_REFRESH_TOKEN.bind(token_hash=token_hash, session_id=session_id, ttl=ttl_seconds)
    )


async def spend_refresh_token(db: Queries, token_hash: bytes) -> Any:
    """(session_id, user_id, email) of the token just spent; None if it was not spendable."""
    return await db.fetchrow(*_SPEND_REFRESH_TOKEN.bind(token_hash=token_hash))


async def spent_token_session(db: Queries, token_hash: bytes) -> str | None:
    """The session of a token spent already (presented again: reuse), else None."""
    session_id: str | None = await db.fetchval(*_SPENT_TOKEN_SESSION.bind(token_hash=token_hash))
    return session_id


async def touch_session(db: Queries, sid: str) -> None:
    await db.fetchval(*_TOUCH_SESSION.bind(id=sid))


async def live_session(db: Queries, sid: str) -> Session | None:
    row = await db.fetchrow(*_LIVE_SESSION.bind(id=sid))
    return None if row is None else Session(**dict(row))


async def live_sessions(db: Queries, user_id: uuid.UUID, *, idle_seconds: int) -> list[Session]:
    """The user's sessions not ended and used (refreshed) within `idle_seconds`, latest first."""
    rows = await db.fetch(*_LIVE_SESSIONS.bind(user_id=user_id, idle=idle_seconds))
    return [Session(**dict(row)) for row in rows]


async def end_session(db: Queries, sid: str, *, user_id: uuid.UUID | None = None) -> list[str]:
    """End one session (of that user, if given); its id if it was live."""
    if user_id is None:
        rows = await db.fetch(*_END_SESSION.bind(id=sid))
    else:
        rows = await db.fetch(*_END_USER_SESSION.bind(id=sid, user_id=user_id))
    return [row["id"] for row in rows]


async def end_user_sessions(db: Queries, user_id: uuid.UUID, *, keep: str = "") -> list[str]:
    """End every live session of the user but `keep`; the ids ended."""
    rows = await db.fetch(*_END_USER_SESSIONS.bind(user_id=user_id, keep=keep))
    return [row["id"] for row in rows]


async def mark_revocations_published(db: Queries, sids: list[str]) -> None:
    await db.fetchval(*_MARK_PUBLISHED.bind(ids=sids))


async def unpublished_ends(db: Queries, *, within_seconds: int, limit: int) -> list[str]:
    """Sessions ended within `within_seconds` whose end the verifiers were not told yet."""
    rows = await db.fetch(*_UNPUBLISHED_ENDS.bind(within=within_seconds, limit=limit))
    return [row["id"] for row in rows]


async def prune_sessions(db: Queries, *, revocation_window: int, idle_seconds: int) -> int:
    """Delete expired refresh tokens, then sessions over for good; how many sessions went."""
    await db.fetchval(*_PRUNE_REFRESH_TOKENS.bind())
    deleted: int = await db.fetchval(
        *_PRUNE_SESSIONS.bind(revocation_window=revocation_window, idle=idle_seconds)
    )
    return deleted


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

"""Sessions, refresh tokens and their revocation.

A login starts a session: its random id is the `sid` of every access token minted for it,
and it holds one unspent refresh token at a time (only its SHA-256 is stored: the token is
256 random bits, so a hash without salt or stretching is enough, and a refresh costs no
bcrypt). A refresh spends the token and issues the next; presenting a spent one again means
two parties hold it, so the session ends (reuse detection, RFC 9700 section 4.14.2).

The database is the truth: an ended session never refreshes again and its tokens never reach
this service's own session endpoints. The verifiers of other services learn of it through
Redis (`todo_shared.revocation`); while Redis is down the end is kept unpublished in the
database and `republish_periodically` tells them once it answers, as long as any token of
the session may still be live.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
import uuid
from dataclasses import dataclass

from redis.exceptions import RedisError

from todo_auth import repository
from todo_auth.keys import CLOCK_LEEWAY_SECONDS
from todo_auth.state import AuthState
from todo_shared.revocation import publish_revocation

logger = logging.getLogger("todo.auth.sessions")

REFRESH_TOKEN_BYTES = 32
REPUBLISH_INTERVAL_SECONDS = 2.0
PRUNE_INTERVAL_SECONDS = 3600.0
_REPUBLISH_BATCH = 500


@dataclass(frozen=True, slots=True)
class Tokens:
    access_token: str
    refresh_token: str


def token_hash(refresh_token: str) -> bytes:
    return hashlib.sha256(refresh_token.encode()).digest()


def _new_refresh_token() -> tuple[str, bytes]:
    token = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
    return token, token_hash(token)


async def _access_token(state: AuthState, *, user_id: uuid.UUID, email: str, sid: str) -> str:
    settings = state.settings
    now = int(time.time())
    return await state.keys.sign(
        {
            "iss": settings.jwt_issuer,
            "aud": settings.jwt_audience,
            "sub": str(user_id),
            "iat": now,
            "exp": now + settings.access_token_ttl_seconds,
            "email": email,
            "sid": sid,
        }
    )


async def start(
    state: AuthState, *, user_id: uuid.UUID, email: str, user_agent: str | None
) -> Tokens:
    """A new session with its first refresh token, and an access token of it."""
    sid = secrets.token_urlsafe(16)
    refresh, digest = _new_refresh_token()
    async with state.database.transaction() as db:
        await repository.add_session(
            db,
            sid=sid,
            user_id=user_id,
            user_agent=user_agent,
        )
        await repository.add_refresh_token(
            db,
            token_hash=digest,
            session_id=sid,
            ttl_seconds=state.settings.refresh_token_ttl_seconds,
        )
    access = await _access_token(state, user_id=user_id, email=email, sid=sid)
    return Tokens(access, refresh)


async def refresh(state: AuthState, refresh_token: str) -> Tokens | None:
    """The next tokens of the session, spending this one; None if it cannot be used (and the
    session ended, if it had been spent already)."""
    digest = token_hash(refresh_token)
    next_refresh, next_digest = _new_refresh_token()
    async with state.database.transaction() as db:
        spent = await repository.spend_refresh_token(db, digest)
        if spent is not None:
            sid = spent["session_id"]
            await repository.touch_session(db, sid)
            await repository.add_refresh_token(
                db,
                token_hash=next_digest,
                session_id=sid,
                ttl_seconds=state.settings.refresh_token_ttl_seconds,
            )
    if spent is None:
        reused = await repository.spent_token_session(state.database, digest)
        if reused is not None:
            logger.warning("refresh token reused: session ended", extra={"sid": reused})
            await end(state, await repository.end_session(state.database, reused))
        return None
    access = await _access_token(state, user_id=spent["user_id"], email=spent["email"], sid=sid)
    return Tokens(access, next_refresh)


def _revocation_ttl(state: AuthState) -> int:
    """As long as a token of the session may be accepted somewhere."""
    return state.settings.access_token_ttl_seconds + CLOCK_LEEWAY_SECONDS


async def end(state: AuthState, sids: list[str]) -> None:
    """Tell the verifiers that these sessions (ended in the database already) are over.

    Redis down: they stay unpublished, and `republish_periodically` retries them.
    """
    if not sids:
        return
    if await _publish(state, sids):
        await repository.mark_revocations_published(state.database, sids)


async def _publish(state: AuthState, sids: list[str]) -> bool:
    try:
        for sid in sids:
            await publish_revocation(
                state.redis, state.settings.jwt_issuer, sid, _revocation_ttl(state)
            )
    except (RedisError, OSError) as exc:
        logger.warning(
            "session end not published yet: Redis unavailable, retried",
            extra={"sessions": len(sids), "error": type(exc).__name__},
        )
        return False
    return True


async def republish_pending(state: AuthState) -> None:
    """Publish the ends that Redis missed (an outbox in the sessions table), while any token
    of theirs may be live; any replica may, and publishing one twice is harmless."""
    sids = await repository.unpublished_ends(
        state.database, within_seconds=_revocation_ttl(state), limit=_REPUBLISH_BATCH
    )
    await end(state, sids)


async def prune(state: AuthState) -> int:
    """Delete what can no longer be used: expired refresh tokens, sessions over for good."""
    return await repository.prune_sessions(
        state.database,
        revocation_window=_revocation_ttl(state),
        idle_seconds=state.settings.refresh_token_ttl_seconds,
    )


async def maintain_periodically(state: AuthState) -> None:
    """`republish_pending` every REPUBLISH_INTERVAL_SECONDS and `prune` every
    PRUNE_INTERVAL_SECONDS (any replica; both are idempotent), whatever fails meanwhile."""
    pruned_at = time.monotonic()
    while True:
        await asyncio.sleep(REPUBLISH_INTERVAL_SECONDS)
        try:
            await republish_pending(state)
            if time.monotonic() - pruned_at >= PRUNE_INTERVAL_SECONDS:
                pruned_at = time.monotonic()
                logger.info("sessions pruned", extra={"sessions": await prune(state)})
        except Exception as exc:  # the database is down, say: the loop must go on
            logger.warning("session upkeep failed", extra={"error": type(exc).__name__})

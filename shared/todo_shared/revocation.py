"""Ended sessions, told to every verifier through Redis.

An issuer that ends a session publishes its `(iss, sid)`: a key `todo:revoked:<iss>:<sid>`
that lives as long as the session's tokens can (so a verifier that was not listening still
finds it) and a message on the `todo:revocations` channel (so every process that listens
refuses the session's tokens at once, even those it remembered as verified). A verifier
asks, for a token with a `sid`:

1. its in-process set of ended sessions, kept from what it heard (the message, or a key it
   found) for `remember_seconds`, the longest a token may live: no round trip;
2. otherwise Redis, for the key, at most once per `CHECK_SECONDS` per session (the answer
   "not ended" is reused that long): a revocation whose message was missed still applies
   within that second.

Whenever the subscription is (re)established, what the lookups remembered is dropped and the
watchers (live streams) are woken to check again, so nothing published while this process
was not listening passes for long. While Redis does not answer, lookups are skipped (fail
open: the API keeps serving), but every session in the in-process set stays refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger("todo.revocation")

CHANNEL = "todo:revocations"
KEY_PREFIX = "todo:revoked"
CHECK_SECONDS = 1.0
_RECONNECT_MAX_SECONDS = 5.0

Session = tuple[str, str]  # (iss, sid)


def revoked_key(issuer: str, sid: str) -> str:
    return f"{KEY_PREFIX}:{issuer}:{sid}"


async def publish_revocation(redis: Redis, issuer: str, sid: str, ttl_seconds: int) -> None:
    """Tell every verifier that the session ended; raises `RedisError`/`OSError` when Redis
    does not answer (the caller keeps the revocation to publish again)."""
    pipe = redis.pipeline(transaction=True)
    pipe.set(revoked_key(issuer, sid), "1", ex=ttl_seconds)
    pipe.publish(CHANNEL, json.dumps({"iss": issuer, "sid": sid}))
    await pipe.execute()


class Revocations:
    """What this process knows of ended sessions (see the module's docstring)."""

    def __init__(
        self, redis: Redis, *, remember_seconds: float, max_sessions: int = 100_000
    ) -> None:
        self._redis = redis
        self._remember = remember_seconds
        self._max = max_sessions
        self._ended: dict[Session, float] = {}  # until when (time.time()) it is refused
        self._checked: dict[Session, float] = {}  # when Redis last said "not ended" (monotonic)
        self._redis_down_until = 0.0
        self._watchers: defaultdict[Session, set[asyncio.Event]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name=f"listen {CHANNEL}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def subscribed(self) -> None:
        """Returns once the subscription is established (for start-up and tests)."""
        await self._subscribed.wait()

    async def is_ended(self, issuer: str, sid: str) -> bool:
        session = (issuer, sid)
        until = self._ended.get(session)
        if until is not None:
            if until > time.time():
                return True
            del self._ended[session]
        now = time.monotonic()
        checked = self._checked.get(session)
        if (checked is not None and now - checked < CHECK_SECONDS) or now < self._redis_down_until:
            return False
        try:
            found = await self._redis.exists(revoked_key(issuer, sid))
        except (RedisError, OSError) as exc:
            if now >= self._redis_down_until:
                logger.warning(
                    "revocation lookups unavailable, only revocations already heard apply",
                    extra={"error": type(exc).__name__},
                )
            self._redis_down_until = now + CHECK_SECONDS
            return False
        if found:
            self._heard(session)
            return True
        if len(self._checked) >= self._max:
            self._checked.clear()
        self._checked[session] = now
        return False

    @contextlib.contextmanager
    def watch(self, issuer: str, sid: str, event: asyncio.Event) -> Iterator[None]:
        """Set `event` when this session may have ended (the holder then asks `is_ended`)."""
        session = (issuer, sid)
        self._watchers[session].add(event)
        try:
            yield
        finally:
            self._watchers[session].discard(event)
            if not self._watchers[session]:
                del self._watchers[session]

    def _heard(self, session: Session) -> None:
        if len(self._ended) >= self._max:
            now = time.time()
            self._ended = {key: until for key, until in self._ended.items() if until > now}
            while len(self._ended) >= self._max:
                del self._ended[next(iter(self._ended))]
        self._ended[session] = time.time() + self._remember
        self._checked.pop(session, None)
        for event in self._watchers.get(session, ()):
            event.set()

    def _message(self, data: Any) -> None:
        try:
            message = json.loads(data)
            session = (message["iss"], message["sid"])
        except (ValueError, TypeError, KeyError):
            logger.warning("malformed revocation message ignored")
            return
        if all(isinstance(part, str) and part for part in session):
            self._heard(session)

    def _missed_anything(self) -> None:
        """(Re)subscribed: what was published meanwhile is looked up again, streams recheck."""
        self._checked.clear()
        for group in self._watchers.values():
            for event in group:
                event.set()

    async def _listen(self) -> None:
        delay = 0.5
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(CHANNEL)
                self._missed_anything()
                self._subscribed.set()
                delay = 0.5
                while True:
                    message = await pubsub.get_message(timeout=CHECK_SECONDS)
                    if message is not None and message.get("type") == "message":
                        self._message(message["data"])
            except (RedisError, OSError) as exc:
                if self._subscribed.is_set():
                    logger.warning("revocation channel lost", extra={"error": type(exc).__name__})
                self._subscribed.clear()
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RECONNECT_MAX_SECONDS)

"""The key set and the fetch slots (unknown-kid refetch, routine refresh), shared by every
replica through Redis.

Redis is an accelerator here: while it fails, each call answers as if it were empty (and a
slot as free), it is not asked again for `REDIS_RETRY_SECONDS`, and the outage is logged
once, not per call.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Collection
from typing import TypeVar, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from todo_shared.jwks.keys import FetchedKeys, JwksError, parse_jwks

logger = logging.getLogger("todo.jwks")

T = TypeVar("T")

# While Redis is failing, it is not asked again for this long (its client already times out
# quickly; this keeps an outage from costing a timeout on every refresh).
REDIS_RETRY_SECONDS = 5.0


# PEXPIRE a claim only while it holds our value (atomic: one script).
_EXPIRE_IF_OURS = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


class _RedisDown(Exception):
    pass


class SharedKeyStore:
    """`<namespace>:keys` holds the last fetched JWKS; `<namespace>:refetch-lock` the claim
    of the unknown-kid refetch, `<namespace>:refresh-lock` that of the routine refresh."""

    def __init__(
        self,
        redis: Redis | None,
        namespace: str,
        *,
        algorithms: Collection[str],
        max_staleness: float,
    ) -> None:
        self._redis = redis
        self.keys_key = f"{namespace}:keys"
        self.refetch_key = f"{namespace}:refetch-lock"
        self.refresh_key = f"{namespace}:refresh-lock"
        self._algorithms = frozenset(algorithms)
        self._max_staleness = max_staleness
        self._retry_at = 0.0  # monotonic
        self._healthy = True

    async def read(self) -> FetchedKeys | None:
        """The key set another replica stored, if readable and within max staleness."""

        async def get(redis: Redis) -> bytes | str | None:
            value: bytes | str | None = await redis.get(self.keys_key)
            return value

        try:
            raw = await self._call(get)
        except _RedisDown:
            return None
        if raw is None:
            return None
        try:
            stored = json.loads(raw)
            keyset = FetchedKeys(
                parse_jwks(stored["jwks"], self._algorithms),
                stored["jwks"],
                float(stored["fetched_at"]),
                float(stored["ttl"]),
            )
        except (JwksError, ValueError, TypeError, KeyError):
            logger.warning("ignoring an unreadable JWKS entry in Redis")
            return None
        return keyset if keyset.age() < self._max_staleness else None

    async def write(self, keyset: FetchedKeys) -> None:
        """Share a fresh fetch; without Redis the next replica simply fetches for itself."""
        value = json.dumps(
            {"jwks": keyset.document, "fetched_at": keyset.fetched_at, "ttl": keyset.ttl}
        )

        async def write(redis: Redis) -> object:
            return await redis.set(self.keys_key, value, ex=max(1, math.ceil(self._max_staleness)))

        with contextlib.suppress(_RedisDown):
            await self._call(write)

    async def claim(self, key: str, claimed_at: float, seconds: float) -> float | None:
        """Claim the cross-replica slot `key` for `seconds` (`SET NX GET`, Redis >= 7).

        None: the fetch is ours to do (also while Redis is down: then every process may).
        Otherwise the time at which another replica claimed it.
        """

        async def claim(redis: Redis) -> object:
            return await redis.set(
                key,
                repr(claimed_at),
                nx=True,
                px=max(1, math.ceil(seconds * 1000)),
                get=True,
            )

        try:
            holder = await self._call(claim)
        except _RedisDown:
            return None
        if not isinstance(holder, bytes | str):
            return None  # the key was unset: the slot is ours
        try:
            return float(holder)
        except ValueError:
            return claimed_at  # an unreadable claim: treat it as just taken

    async def expire_claim(self, key: str, claimed_at: float, seconds: float) -> None:
        """Our fetch failed: free the slot `key` `seconds` (the retry interval) from now rather
        than when it was due, if the claim is still ours, so the next attempt, whoever makes
        it, waits as long as ours would."""

        async def expire(redis: Redis) -> object:
            return await cast(
                Awaitable[object],
                redis.eval(
                    _EXPIRE_IF_OURS,
                    1,
                    key,
                    repr(claimed_at),
                    max(1, math.ceil(seconds * 1000)),
                ),
            )

        with contextlib.suppress(_RedisDown):
            await self._call(expire)

    async def _call(self, operation: Callable[[Redis], Awaitable[T]]) -> T:
        """Run one Redis command, or raise _RedisDown without a stack trace in the log."""
        if self._redis is None or time.monotonic() < self._retry_at:
            raise _RedisDown
        try:
            result = await operation(self._redis)
        except (RedisError, OSError, TimeoutError) as exc:
            self._retry_at = time.monotonic() + REDIS_RETRY_SECONDS
            if self._healthy:
                self._healthy = False
                logger.warning(
                    "Redis unavailable: JWKS cache and refetch cooldown are per-process for now",
                    extra={"error": type(exc).__name__},
                )
            raise _RedisDown from None
        if not self._healthy:
            self._healthy = True
            logger.info("Redis reachable again: JWKS cache shared across replicas")
        return result

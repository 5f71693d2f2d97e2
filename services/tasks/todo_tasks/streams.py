"""How many live event streams each user holds open, counted across every replica in Redis.

Each stream holds a slot (a member of the user's sorted set, scored by when it lapses) and
renews it with every heartbeat; a replica that dies leaves slots that lapse by themselves.
While Redis is down streams are admitted uncounted: live updates matter more than the cap.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger("todo.streams")

# Drop lapsed slots, then admit one more if there is room: atomic, so two replicas cannot both
# take the last slot.
_CLAIM = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class StreamSlots:
    def __init__(self, redis: Redis, *, per_user: int, lapse_seconds: float) -> None:
        self._redis = redis
        self._per_user = per_user
        self._lapse = lapse_seconds

    @staticmethod
    def _key(owner: str) -> str:
        return f"todo:streams:{owner}"

    async def claim(self, owner: str) -> str | None:
        """A slot for one more stream of `owner`, or None when they hold the most allowed."""
        slot = secrets.token_hex(8)
        now = time.time()
        try:
            admitted = await self._redis.eval(
                _CLAIM,
                1,
                self._key(owner),
                now,
                self._per_user,
                now + self._lapse,
                slot,
                int(self._lapse) + 1,
            )
        except RedisError as exc:
            logger.warning("stream slots unavailable", extra={"error": type(exc).__name__})
            return slot
        return slot if admitted else None

    async def renew(self, owner: str, slot: str) -> None:
        # Without Redis the stream goes on; it is counted again once Redis answers.
        with contextlib.suppress(RedisError):
            await self._redis.zadd(self._key(owner), {slot: time.time() + self._lapse}, xx=True)

    async def release(self, owner: str, slot: str) -> None:
        with contextlib.suppress(RedisError):  # else it lapses by itself
            await self._redis.zrem(self._key(owner), slot)

"""Fixed-window rate limits in Redis, per client IP and per email, for signup and login.

A fixed window (one counter per window, expiring with it) costs one round trip and lets at
most twice the limit through around a window boundary; that is enough to stop password
guessing and signup floods. If Redis is unreachable the request is let through with a
warning: an outage of the limiter's store must not lock every user out (fail open).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis
from redis.exceptions import RedisError

from todo_auth.settings import Settings
from todo_shared.errors import TooManyRequests

logger = logging.getLogger("todo.auth.rate_limit")

Action = Literal["signup", "login"]
KEY_PREFIX = "todo-auth:rl"


@dataclass(frozen=True)
class Limit:
    name: str
    count: int  # 0 turns the limit off
    window_seconds: int


class RateLimiter:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self._redis = redis
        s = settings
        self._limits: dict[Action, tuple[Limit, Limit]] = {
            "signup": (
                Limit("signup:ip", s.signup_ip_limit, s.signup_ip_window_seconds),
                Limit("signup:email", s.signup_email_limit, s.signup_email_window_seconds),
            ),
            "login": (
                Limit("login:ip", s.login_ip_limit, s.login_ip_window_seconds),
                Limit("login:email", s.login_email_limit, s.login_email_window_seconds),
            ),
        }

    async def check(self, action: Action, *, client_ip: str, email: str) -> None:
        """Count this attempt; raise 429 with Retry-After when either limit is exceeded."""
        per_ip, per_email = self._limits[action]
        pairs = ((per_ip, client_ip), (per_email, email))
        checks = [(limit, value) for limit, value in pairs if limit.count > 0]
        if not checks:
            return
        now = time.time()
        pipe = self._redis.pipeline(transaction=True)
        for limit, value in checks:
            window = int(now // limit.window_seconds)
            # Hashed so that emails and addresses are not kept in Redis in clear.
            digest = hashlib.sha256(value.encode()).hexdigest()[:32]
            key = f"{KEY_PREFIX}:{limit.name}:{digest}:{window}"
            pipe.incr(key)
            pipe.expire(key, limit.window_seconds)
        try:
            results = await pipe.execute()
        except (RedisError, OSError) as exc:
            logger.warning(
                "rate limiter unavailable, request allowed",
                extra={"action": action, "error": type(exc).__name__},
            )
            return
        waits = [
            limit.window_seconds - now % limit.window_seconds
            for (limit, _), count in zip(checks, results[::2], strict=True)
            if count > limit.count
        ]
        if waits:
            logger.info("rate limited", extra={"action": action, "client_ip": client_ip})
            raise TooManyRequests(math.ceil(max(waits)))

"""Fixed-window rate limits in Redis for signup, login and refresh.

Signup counts every attempt per client IP and per email. Login counts every attempt per
client IP, but only failures per email: per (email, IP), a low limit that stops one client
guessing, and per email from anywhere, a higher one that stops a distributed guesser. So an
attack on an account from elsewhere does not lock its owner out until it is large enough to
trip the per-email limit, and the owner's own successful logins never count. Refresh counts
every attempt per client IP, with login's limit: a refresh token is 256 random bits, so the
limit only bounds the load, and a wrong current password at a password change counts as a
failed login.

A fixed window (one counter per window, expiring with it) costs one round trip and lets at
most twice the limit through around a window boundary; that is enough to stop password
guessing and signup floods. If Redis is unreachable the request is let through (fail open: an
outage of the limiter's store must not lock every user out), and that is logged once when it
starts and once when it ends, not on every request.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from todo_auth.metrics import RATE_LIMITED
from todo_auth.settings import Settings
from todo_shared.errors import TooManyRequests

logger = logging.getLogger("todo.auth.rate_limit")

Action = Literal["signup", "login", "refresh"]
KEY_PREFIX = "todo-auth:rl"


@dataclass(frozen=True)
class Limit:
    name: str
    count: int  # 0 turns the limit off
    window_seconds: int

    def key(self, value: str, now: float) -> str:
        # Hashed so that emails and addresses are not kept in Redis in clear.
        digest = hashlib.sha256(value.encode()).hexdigest()[:32]
        return f"{KEY_PREFIX}:{self.name}:{digest}:{int(now // self.window_seconds)}"

    def wait(self, now: float) -> float:
        return self.window_seconds - now % self.window_seconds


class RateLimiter:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self._redis = redis
        self._available = True
        s = settings
        self._signup = (
            Limit("signup:ip", s.signup_ip_limit, s.signup_ip_window_seconds),
            Limit("signup:email", s.signup_email_limit, s.signup_email_window_seconds),
        )
        self._login_ip = Limit("login:ip", s.login_ip_limit, s.login_ip_window_seconds)
        self._refresh_ip = Limit("refresh:ip", s.login_ip_limit, s.login_ip_window_seconds)
        self._login_failures = (
            Limit("login:email", s.login_email_limit, s.login_email_window_seconds),
            Limit("login:email-ip", s.login_email_ip_limit, s.login_email_ip_window_seconds),
        )

    async def check(self, action: Action, *, client_ip: str, email: str) -> None:
        """Count this attempt, and raise 429 with Retry-After when a limit is exceeded: for
        login, when this address made too many attempts, or the email (from anywhere, or
        from this address) has too many failures already."""
        if action == "signup":
            counted = list(zip(self._signup, (client_ip, email), strict=True))
            await self._enforce(action, client_ip, counted, [])
        else:
            failures = self._failure_keys(client_ip, email)
            await self._enforce(action, client_ip, [(self._login_ip, client_ip)], failures)

    async def check_refresh(self, *, client_ip: str) -> None:
        """Count this refresh; 429 with Retry-After when this address made too many."""
        await self._enforce("refresh", client_ip, [(self._refresh_ip, client_ip)], [])

    async def login_failed(self, *, client_ip: str, email: str) -> None:
        """Count a failed login against the email's limits."""
        now = time.time()
        pipe = self._redis.pipeline(transaction=True)
        for limit, value in self._failure_keys(client_ip, email):
            if limit.count > 0:
                key = limit.key(value, now)
                pipe.incr(key)
                pipe.expire(key, limit.window_seconds)
        await self._run(pipe, "login")

    def _failure_keys(self, client_ip: str, email: str) -> list[tuple[Limit, str]]:
        return list(zip(self._login_failures, (email, f"{email} {client_ip}"), strict=True))

    async def _enforce(
        self,
        action: Action,
        client_ip: str,
        counted: list[tuple[Limit, str]],
        read: list[tuple[Limit, str]],
    ) -> None:
        """Increment the `counted` limits, read the `read` ones; 429 if any is over."""
        counted = [(limit, value) for limit, value in counted if limit.count > 0]
        read = [(limit, value) for limit, value in read if limit.count > 0]
        if not counted and not read:
            return
        now = time.time()
        pipe = self._redis.pipeline(transaction=True)
        for limit, value in counted:
            key = limit.key(value, now)
            pipe.incr(key)
            pipe.expire(key, limit.window_seconds)
        for limit, value in read:
            pipe.get(limit.key(value, now))
        results = await self._run(pipe, action)
        if results is None:
            return
        counts = [int(count or 0) for count in results[: 2 * len(counted) : 2]]
        over = [
            limit for (limit, _), count in zip(counted, counts, strict=True) if count > limit.count
        ]
        failures = [int(count or 0) for count in results[2 * len(counted) :]]
        over += [
            limit for (limit, _), count in zip(read, failures, strict=True) if count >= limit.count
        ]
        if over:
            logger.info("rate limited", extra={"action": action, "client_ip": client_ip})
            for limit in over:
                RATE_LIMITED.labels(action, limit.name).inc()
            raise TooManyRequests(math.ceil(max(limit.wait(now) for limit in over)))

    async def _run(self, pipe: Pipeline, action: Action) -> list[Any] | None:
        """Execute the pipeline; None when Redis is unreachable (the request is allowed)."""
        try:
            results: list[Any] = await pipe.execute()
        except (RedisError, OSError) as exc:
            if self._available:
                self._available = False
                logger.warning(
                    "rate limiter unavailable, requests allowed until Redis answers",
                    extra={"action": action, "error": type(exc).__name__},
                )
            return None
        if not self._available:
            self._available = True
            logger.warning("rate limiter available again")
        return results

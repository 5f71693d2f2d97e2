"""`JwksCache`: one issuer's keys by kid, from memory, then Redis, then the issuer.

Each trusted issuer has its own cache: its own memory, Redis keys, cooldown and staleness, so
one issuer's outage or flood of unknown kids never touches another's keys.

Verification runs on every request, so the fresh in-memory case touches neither Redis nor the
network. Everything slower is bounded:

- at most one fetch or Redis sync in flight per process (an `asyncio.Lock`);
- an unknown `kid` refetches at most once per cooldown across all replicas (Redis `SET NX PX
  GET`, falling back to a per-process cooldown while Redis is down; a replica that finds the
  slot taken waits, up to one fetch, for the winner's result in Redis), and is then remembered
  as unknown for a short while, so a flood of random kids costs neither fetches nor round trips;
  a refetch that fails holds the slot for the retry interval only;
- keys older than their TTL are refreshed in the background while requests keep using them,
  by one replica for all: every process that took a key set from Redis reaches its TTL at the
  same instant, so one claims the refresh in Redis (for one fetch), the others wait for its
  result there; a refresh that fails holds the claim for the retry interval;
- when the JWKS endpoint fails, the last good keys keep working up to a maximum staleness;
  without keys, requests are refused until the retry interval is over, unless another
  replica shared keys in Redis meanwhile (a failed warm-up at start starts no interval);
- when Redis fails, memory and direct fetches carry on, with one warning per outage.

The TTL is `JWKS_CACHE_TTL_SECONDS`, shortened by the endpoint's `Cache-Control: max-age` when
that is smaller, but never below the refetch cooldown.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from prometheus_client import Counter
from redis.asyncio import Redis

from todo_shared.jwks.fetch import JwksFetcher
from todo_shared.jwks.keys import FetchedKeys, JwksError, VerificationKey
from todo_shared.jwks.store import SharedKeyStore
from todo_shared.metrics import (
    JWKS_CACHE_HITS,
    JWKS_FETCHES,
    JWKS_KEYS_FETCHED,
    JWKS_STALE_SERVED,
)

logger = logging.getLogger("todo.jwks")

# The negative cache is dropped wholesale past this size, so random kids cannot grow memory.
MAX_UNKNOWN_KIDS = 10_000
# How often a replica looks in Redis for the result of a refetch another replica is doing.
SHARED_REFETCH_POLL_SECONDS = 0.05


class KeysUnavailable(Exception):
    """No usable key set: never fetched, or older than the maximum staleness."""


class UnknownKey(Exception):
    """The key set in use has no key with this `kid`, and refetching is not allowed now."""


@dataclass(frozen=True, kw_only=True)
class JwksPolicy:
    """How a cache fetches, keeps and shares keys (the JWKS_* settings, in seconds)."""

    algorithms: Sequence[str]
    max_bytes: int
    fetch_timeout: float
    cache_ttl: float
    refetch_cooldown: float
    max_staleness: float
    retry: float
    unknown_kid_ttl: float
    redis_key: str


class JwksCache:
    """Keys by kid for one issuer's JWKS URL; see the module docstring for the lookup rules."""

    def __init__(
        self, policy: JwksPolicy, *, issuer: str, jwks_url: str, redis: Redis | None
    ) -> None:
        self._url = jwks_url
        self._cooldown = policy.refetch_cooldown
        self._max_staleness = policy.max_staleness
        self._retry = policy.retry
        self._unknown_ttl = policy.unknown_kid_ttl
        # A refresh claim covers one fetch, but is always gone by the next refresh: no key
        # set's TTL is below both the configured TTL and the cooldown.
        self._refresh_claim = min(policy.fetch_timeout, policy.cache_ttl, self._cooldown)
        self._fetcher = JwksFetcher(
            self._url,
            algorithms=policy.algorithms,
            max_bytes=policy.max_bytes,
            timeout=policy.fetch_timeout,
            ttl=policy.cache_ttl,
            min_ttl=self._cooldown,
        )
        # Issuer and URL both name the entry: two issuers never share keys, even at one URL.
        name = hashlib.sha256(f"{issuer}\n{self._url}".encode()).hexdigest()[:16]
        self._store = SharedKeyStore(
            redis,
            f"{policy.redis_key}:{name}",
            algorithms=policy.algorithms,
            max_staleness=self._max_staleness,
        )

        self._keyset: FetchedKeys | None = None
        self._lock = asyncio.Lock()
        self._refresh_task: asyncio.Task[None] | None = None
        self._unknown: dict[str, float] = {}  # kid -> monotonic expiry
        self._refetch_allowed_at = 0.0  # monotonic; the per-process unknown-kid cooldown
        self._redis_checked_at = -math.inf  # monotonic; last Redis look for an unknown kid
        self._retry_at = 0.0  # monotonic; after a failed fetch, no new attempt before this
        # Label children, made once: a lookup from memory costs one increment.
        self._issuer = issuer
        self._memory_hits = JWKS_CACHE_HITS.labels(issuer, "memory")
        self._redis_hits = JWKS_CACHE_HITS.labels(issuer, "redis")
        self._stale_served = JWKS_STALE_SERVED.labels(issuer)
        self._fetched_ok = JWKS_FETCHES.labels(issuer, "ok")
        self._fetch_failed = JWKS_FETCHES.labels(issuer, "error")

    # -- the request path --------------------------------------------------------------------

    async def get(self, kid: str) -> VerificationKey:
        """The key for `kid`; raises UnknownKey or KeysUnavailable."""
        keyset = self._usable()
        if keyset is None:
            keyset = await self._load()
        else:
            self._memory_hits.inc()
        key = keyset.keys.get(kid)
        if key is None:
            key = await self._refetch_for(kid)
        return key

    async def ensure(self) -> bool:
        """Whether usable keys are at hand (loading them if needed): the readiness check."""
        try:
            _ = self._usable() or await self._load()
        except KeysUnavailable:
            return False
        return True

    async def warm_up(self) -> None:
        """Load keys before the first request. A failure here (the issuer not reachable yet,
        as right after a deploy) starts no retry interval: the first request tries again."""
        if not await self.ensure():
            self._retry_at = 0.0

    def _usable(self) -> FetchedKeys | None:
        """The in-memory set if within max staleness; past its TTL, a refresh starts alongside."""
        keyset = self._keyset
        if keyset is None:
            return None
        age = keyset.age()
        if age < keyset.ttl:
            return keyset
        if age >= self._max_staleness:
            return None
        self._stale_served.inc()
        self._refresh_in_background()
        return keyset

    async def _load(self) -> FetchedKeys:
        """Block until keys are loaded (no usable set in memory), or raise KeysUnavailable."""
        async with self._lock:
            keyset = self._usable()
            if keyset is not None:
                return keyset
            if time.monotonic() < self._retry_at:
                # No new fetch yet, but another replica may have fetched (and shared) since.
                shared = await self._store.read()
                if shared is None or not self._is_newer(shared):
                    raise KeysUnavailable("JWKS fetch failed recently")
                self._adopt(shared, self._redis_hits)
                return shared
            try:
                await self._sync()
            except JwksError as exc:
                self._retry_at = time.monotonic() + self._retry
                keyset = self._usable()  # a stale-but-usable set may have come from Redis
                if keyset is None:
                    logger.warning(
                        "JWKS unavailable: no usable signing keys, refusing tokens",
                        extra={"jwks_url": self._url, "error": str(exc)},
                    )
                    raise KeysUnavailable(str(exc)) from None
                return keyset
            assert self._keyset is not None
            return self._keyset

    async def _refetch_for(self, kid: str) -> VerificationKey:
        """Look for a `kid` missing from memory in Redis, then (cooldown allowing) the issuer."""
        if self._unknown.get(kid, 0.0) > time.monotonic():
            raise UnknownKey(kid)
        async with self._lock:
            # Whoever held the lock may have fetched it, or given up on it, meanwhile.
            if self._keyset is not None and kid in self._keyset.keys:
                return self._keyset.keys[kid]
            if self._unknown.get(kid, 0.0) <= time.monotonic():
                await self._look_for_new_keys(kid)
            if self._keyset is not None and kid in self._keyset.keys:
                return self._keyset.keys[kid]
            if len(self._unknown) >= MAX_UNKNOWN_KIDS:
                self._unknown.clear()
            self._unknown[kid] = time.monotonic() + self._unknown_ttl
            raise UnknownKey(kid)

    async def _look_for_new_keys(self, kid: str) -> None:
        now = time.monotonic()
        if now - self._redis_checked_at >= self._unknown_ttl:
            self._redis_checked_at = now
            shared = await self._store.read()
            if shared is not None and self._is_newer(shared):
                self._adopt(shared, self._redis_hits)
                if kid in shared.keys:
                    return
        if now < self._refetch_allowed_at:
            return
        # Until this attempt brings a key set, the next one waits the retry interval only: a
        # failed fetch learnt nothing, and a kid the issuer publishes once it is back must
        # not be refused for a whole cooldown. Still at most one attempt per interval.
        retry = min(self._retry, self._cooldown)
        self._refetch_allowed_at = now + retry
        try:
            # Another replica may have refetched within the cooldown: then its result comes
            # from Redis, once it has landed there (e.g. still in flight just after a rotation).
            if not await self._fetch_once_for_all(self._store.refetch_key, self._cooldown, retry):
                return
        except JwksError as exc:
            logger.warning(
                "JWKS refetch for an unknown kid failed",
                extra={"jwks_url": self._url, "error": str(exc)},
            )
            return
        self._refetch_allowed_at = now + self._cooldown

    async def _await_shared_refetch(self, claimed_at: float) -> bool:
        """Adopt the key set another replica fetched for its claim, waiting up to one fetch;
        whether it came."""
        deadline = time.monotonic() + self._fetcher.timeout
        while True:
            shared = await self._store.read()
            if shared is not None and shared.fetched_at >= claimed_at:
                if self._is_newer(shared):
                    self._adopt(shared, self._redis_hits)
                return True
            if time.monotonic() >= deadline:
                return False  # its fetch failed or is lost
            await asyncio.sleep(SHARED_REFETCH_POLL_SECONDS)

    # -- refreshing ----------------------------------------------------------------------------

    def _refresh_in_background(self) -> None:
        if self._refresh_task is not None and not self._refresh_task.done():
            return
        if time.monotonic() < self._retry_at:
            return
        self._refresh_task = asyncio.create_task(self._refresh(), name="jwks-refresh")

    async def _refresh(self) -> None:
        try:
            async with self._lock:
                current = self._keyset
                if current is not None and current.age() < current.ttl:
                    return  # refreshed while this task waited for the lock
                try:
                    if not await self._adopt_shared() and not await self._fetch_once_for_all(
                        self._store.refresh_key, self._refresh_claim, self._retry
                    ):
                        raise JwksError("the replica refreshing the JWKS shared no keys in time")
                except JwksError as exc:
                    self._retry_at = time.monotonic() + self._retry
                    self._warn_stale(exc)
        except Exception:
            # A background task has no caller to raise to.
            logger.exception("JWKS refresh crashed")

    def _warn_stale(self, exc: JwksError) -> None:
        keyset = self._keyset
        if keyset is None:
            return
        logger.warning(
            "JWKS endpoint failing: serving the last good keys until they reach max staleness",
            extra={
                "jwks_url": self._url,
                "error": str(exc),
                "keys_age_seconds": round(keyset.age()),
                "max_staleness_seconds": self._max_staleness,
            },
        )

    async def _sync(self) -> None:
        """Bring memory up to date: from Redis if another replica fetched lately, else over HTTP."""
        if not await self._adopt_shared():
            await self._fetch_and_share()

    async def _adopt_shared(self) -> bool:
        """Adopt the key set in Redis if newer; whether memory is now within its TTL."""
        shared = await self._store.read()
        if shared is not None and self._is_newer(shared):
            self._adopt(shared, self._redis_hits)
        current = self._keyset
        return current is not None and current.age() < current.ttl

    async def _fetch_once_for_all(self, slot: str, claim_seconds: float, retry: float) -> bool:
        """Fetch if this process claims the Redis `slot` (for `claim_seconds`), else adopt the
        claimer's keys from Redis, waiting up to one fetch; whether keys came. Our own failed
        fetch frees the slot `retry` seconds later, for the next attempt, and raises JwksError."""
        claimed_at = time.time()
        other_claim = await self._store.claim(slot, claimed_at, claim_seconds)
        if other_claim is not None:
            return await self._await_shared_refetch(other_claim)
        try:
            await self._fetch_and_share()
        except JwksError:
            await self._store.expire_claim(slot, claimed_at, retry)
            raise
        return True

    def _is_newer(self, keyset: FetchedKeys) -> bool:
        return self._keyset is None or keyset.fetched_at > self._keyset.fetched_at

    def _adopt(self, keyset: FetchedKeys, source: Counter) -> None:
        """Use `keyset` from now on; `source` counts where it came from."""
        self._keyset = keyset
        self._unknown.clear()
        source.inc()
        # Made on the first key set: a worker without keys shows no age rather than 1970's.
        JWKS_KEYS_FETCHED.labels(self._issuer).set(keyset.fetched_at)

    async def _fetch_and_share(self) -> None:
        try:
            keyset = await self._fetcher.fetch()
        except JwksError:
            self._fetch_failed.inc()
            raise
        self._adopt(keyset, self._fetched_ok)
        await self._store.write(keyset)

    # -- lifecycle -------------------------------------------------------------------------

    async def aclose(self) -> None:
        if self._refresh_task is not None:
            self._refresh_task.cancel()
            await asyncio.gather(self._refresh_task, return_exceptions=True)
        await self._fetcher.aclose()

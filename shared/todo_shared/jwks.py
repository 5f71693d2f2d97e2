"""The issuer's public keys: looked up in memory, then in Redis (shared by replicas), then fetched.

Verification runs on every request, so the fresh in-memory case touches neither Redis nor the
network. Everything slower is bounded:

- at most one fetch or Redis sync in flight per process (an `asyncio.Lock`);
- an unknown `kid` refetches at most once per cooldown across all replicas (Redis `SET NX PX
  GET`, falling back to a per-process cooldown while Redis is down; a replica that finds the
  slot taken waits, up to one fetch, for the winner's result in Redis), and is then remembered
  as unknown for a short while, so a flood of random kids costs neither fetches nor round trips;
- keys older than their TTL are refreshed in the background while requests keep using them;
- when the JWKS endpoint fails, the last good keys keep working up to a maximum staleness;
- when Redis fails, memory and direct fetches carry on, with one warning per outage.

The TTL is `JWKS_CACHE_TTL_SECONDS`, shortened by the endpoint's `Cache-Control: max-age` when
that is smaller, but never below the refetch cooldown (a `max-age=0` must not mean a fetch per
request).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import jwt
from redis.asyncio import Redis
from redis.exceptions import RedisError

if TYPE_CHECKING:
    from todo_shared.tokens import VerifierSettings

logger = logging.getLogger("todo.jwks")

T = TypeVar("T")

# Which JWK may verify which algorithm: (kty, accepted crv values or None when kty has no crv).
# Symmetric (`oct`, HS*) and `none` are absent on purpose: they can never be configured.
KEY_TYPES: Mapping[str, tuple[str, frozenset[str] | None]] = {
    "EdDSA": ("OKP", frozenset({"Ed25519", "Ed448"})),
    "ES256": ("EC", frozenset({"P-256"})),
    "ES384": ("EC", frozenset({"P-384"})),
    "ES512": ("EC", frozenset({"P-521"})),
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
}

# While Redis is failing, it is not asked again for this long (its client already times out
# quickly; this keeps an outage from costing a timeout on every refresh).
REDIS_RETRY_SECONDS = 5.0
# The negative cache is dropped wholesale past this size, so random kids cannot grow memory.
MAX_UNKNOWN_KIDS = 10_000
# How often a replica looks in Redis for the result of a refetch another replica is doing.
SHARED_REFETCH_POLL_SECONDS = 0.05

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)


class JwksError(Exception):
    """A fetch or a stored key set failed; the message is safe to log."""


class KeysUnavailable(Exception):
    """No usable key set: never fetched, or older than the maximum staleness."""


class UnknownKey(Exception):
    """The key set in use has no key with this `kid`, and refetching is not allowed now."""


class _RedisDown(Exception):
    pass


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """One public key, constructed once per algorithm the token header may name for it."""

    kid: str
    by_algorithm: Mapping[str, jwt.PyJWK]


@dataclass(frozen=True, slots=True)
class KeySet:
    keys: Mapping[str, VerificationKey]
    document: dict[str, Any]  # the JWKS as fetched, shared through Redis
    fetched_at: float  # wall clock (not monotonic): replicas compare it
    ttl: float

    def age(self) -> float:
        return time.time() - self.fetched_at


def _algorithms_for(jwk: Mapping[str, Any], allowed: Collection[str]) -> list[str]:
    """The allowed algorithms this JWK may verify, judged by its kty/crv and stated alg."""
    kty, crv = jwk.get("kty"), jwk.get("crv")
    matching = []
    for alg in allowed:
        key_type, curves = KEY_TYPES[alg]
        if key_type == kty and (curves is None or (isinstance(crv, str) and crv in curves)):
            matching.append(alg)
    stated = jwk.get("alg")
    if stated is None:
        return sorted(matching)
    return [stated] if stated in matching else []


def _verification_key(jwk: dict[str, Any], allowed: Collection[str]) -> VerificationKey | None:
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        return None
    if "d" in jwk or jwk.get("use", "sig") != "sig":
        return None  # a published private key is an issuer bug, and `enc` keys do not sign
    try:
        by_algorithm = {alg: jwt.PyJWK(jwk, alg) for alg in _algorithms_for(jwk, allowed)}
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        return None
    return VerificationKey(kid, by_algorithm) if by_algorithm else None


def parse_jwks(document: Any, allowed: Collection[str]) -> dict[str, VerificationKey]:
    """Usable public signing keys by kid; unusable entries (wrong type, private, no kid) skipped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwksError("response is not a JWKS")
    keys: dict[str, VerificationKey] = {}
    skipped = 0
    for jwk in document["keys"]:
        key = _verification_key(jwk, allowed) if isinstance(jwk, dict) else None
        if key is None or key.kid in keys:
            skipped += 1
        else:
            keys[key.kid] = key
    if skipped:
        logger.info("ignored JWKS entries unusable for verification", extra={"count": skipped})
    if not keys:
        raise JwksError("JWKS holds no usable signing key")
    return keys


class JwksCache:
    """Keys by kid for one JWKS URL; see the module docstring for the lookup rules."""

    def __init__(self, settings: VerifierSettings, redis: Redis | None) -> None:
        self._url = settings.jwks_url
        self._algorithms = frozenset(settings.jwt_algorithms)
        self._max_bytes = settings.jwks_max_bytes
        self._fetch_timeout = settings.jwks_fetch_timeout_seconds
        self._ttl = settings.jwks_cache_ttl_seconds
        self._cooldown = settings.jwks_refetch_cooldown_seconds
        self._max_staleness = settings.jwks_max_staleness_seconds
        self._retry = settings.jwks_retry_seconds
        self._unknown_ttl = settings.jwks_unknown_kid_ttl_seconds
        url_hash = hashlib.sha256(self._url.encode()).hexdigest()[:16]
        self._redis_keys_key = f"{settings.jwks_redis_key}:{url_hash}:keys"
        self._redis_lock_key = f"{settings.jwks_redis_key}:{url_hash}:refetch-lock"
        self._redis = redis
        self._http = httpx.AsyncClient(
            timeout=self._fetch_timeout,
            follow_redirects=False,
            headers={"Accept": "application/json"},
        )

        self._keyset: KeySet | None = None
        self._lock = asyncio.Lock()
        self._refresh_task: asyncio.Task[None] | None = None
        self._unknown: dict[str, float] = {}  # kid -> monotonic expiry
        self._refetch_allowed_at = 0.0  # monotonic; the per-process unknown-kid cooldown
        self._redis_checked_at = -math.inf  # monotonic; last Redis look for an unknown kid
        self._retry_at = 0.0  # monotonic; after a failed fetch, no new attempt before this
        self._redis_retry_at = 0.0
        self._redis_healthy = True

    # -- the request path --------------------------------------------------------------------

    async def get(self, kid: str) -> VerificationKey:
        """The key for `kid`; raises UnknownKey or KeysUnavailable."""
        keyset = self._usable() or await self._load()
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

    def _usable(self) -> KeySet | None:
        """The in-memory set if within max staleness; past its TTL, a refresh starts alongside."""
        keyset = self._keyset
        if keyset is None:
            return None
        age = keyset.age()
        if age < keyset.ttl:
            return keyset
        if age >= self._max_staleness:
            return None
        self._refresh_in_background()
        return keyset

    async def _load(self) -> KeySet:
        """Block until keys are loaded (no usable set in memory), or raise KeysUnavailable."""
        async with self._lock:
            keyset = self._usable()
            if keyset is not None:
                return keyset
            if time.monotonic() < self._retry_at:
                raise KeysUnavailable("JWKS fetch failed recently")
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
            shared = await self._read_redis()
            if shared is not None and self._is_newer(shared):
                self._adopt(shared)
                if kid in shared.keys:
                    return
        if now < self._refetch_allowed_at:
            return
        self._refetch_allowed_at = now + self._cooldown
        claimed_at = time.time()
        other_claim = await self._claim_refetch(claimed_at)
        if other_claim is not None:
            # Another replica refetched within the cooldown: take its result from Redis, once
            # it has landed there (it may still be in flight, e.g. just after a rotation).
            await self._await_shared_refetch(other_claim)
            return
        try:
            await self._fetch_and_share()
        except JwksError as exc:
            logger.warning(
                "JWKS refetch for an unknown kid failed",
                extra={"jwks_url": self._url, "error": str(exc)},
            )

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
                    await self._sync()
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
        shared = await self._read_redis()
        if shared is not None and self._is_newer(shared):
            self._adopt(shared)
        current = self._keyset
        if current is not None and current.age() < current.ttl:
            return
        await self._fetch_and_share()

    def _is_newer(self, keyset: KeySet) -> bool:
        return self._keyset is None or keyset.fetched_at > self._keyset.fetched_at

    def _adopt(self, keyset: KeySet) -> None:
        self._keyset = keyset
        self._unknown.clear()

    # -- HTTP ------------------------------------------------------------------------------

    async def _fetch_and_share(self) -> None:
        keyset = await self._fetch()
        self._adopt(keyset)
        await self._write_redis(keyset)

    async def _fetch(self) -> KeySet:
        """GET the JWKS: total timeout, no redirects, body capped while streaming."""
        try:
            async with asyncio.timeout(self._fetch_timeout):
                body, cache_control = await self._download()
        except (httpx.HTTPError, TimeoutError) as exc:
            raise JwksError(f"JWKS fetch failed: {type(exc).__name__}") from None
        try:
            document = json.loads(body)
        except ValueError:
            raise JwksError("JWKS response is not JSON") from None
        keys = parse_jwks(document, self._algorithms)
        logger.info("fetched JWKS", extra={"jwks_url": self._url, "keys": len(keys)})
        return KeySet(keys, document, time.time(), self._ttl_for(cache_control))

    async def _download(self) -> tuple[bytes, str | None]:
        async with self._http.stream("GET", self._url) as response:
            if response.status_code != 200:
                raise JwksError(f"JWKS endpoint answered {response.status_code}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self._max_bytes:
                raise JwksError("JWKS response exceeds JWKS_MAX_BYTES")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > self._max_bytes:
                    raise JwksError("JWKS response exceeds JWKS_MAX_BYTES")
            return bytes(body), response.headers.get("cache-control")

    def _ttl_for(self, cache_control: str | None) -> float:
        match = _MAX_AGE.search(cache_control or "")
        if match is None:
            return self._ttl
        return min(self._ttl, max(float(match.group(1)), self._cooldown))

    # -- Redis -----------------------------------------------------------------------------

    async def _read_redis(self) -> KeySet | None:
        try:
            raw = await self._redis_call(self._redis_get)
        except _RedisDown:
            return None
        if raw is None:
            return None
        try:
            stored = json.loads(raw)
            keyset = KeySet(
                parse_jwks(stored["jwks"], self._algorithms),
                stored["jwks"],
                float(stored["fetched_at"]),
                float(stored["ttl"]),
            )
        except (JwksError, ValueError, TypeError, KeyError):
            logger.warning("ignoring an unreadable JWKS entry in Redis")
            return None
        return keyset if keyset.age() < self._max_staleness else None

    async def _write_redis(self, keyset: KeySet) -> None:
        value = json.dumps(
            {"jwks": keyset.document, "fetched_at": keyset.fetched_at, "ttl": keyset.ttl}
        )

        async def write(redis: Redis) -> object:
            return await redis.set(
                self._redis_keys_key, value, ex=max(1, math.ceil(self._max_staleness))
            )

        with contextlib.suppress(_RedisDown):  # then the next replica fetches for itself
            await self._redis_call(write)

    async def _claim_refetch(self, claimed_at: float) -> float | None:
        """Claim the cross-replica refetch slot (`SET NX GET`, Redis >= 7).

        None: the refetch is ours to do (also while Redis is down: then every process may).
        Otherwise the time at which another replica claimed it.
        """

        async def claim(redis: Redis) -> object:
            return await redis.set(
                self._redis_lock_key,
                repr(claimed_at),
                nx=True,
                px=max(1, math.ceil(self._cooldown * 1000)),
                get=True,
            )

        try:
            holder = await self._redis_call(claim)
        except _RedisDown:
            return None
        if not isinstance(holder, bytes | str):
            return None  # the key was unset: the slot is ours
        try:
            return float(holder)
        except ValueError:
            return claimed_at  # an unreadable claim: treat it as just taken

    async def _await_shared_refetch(self, claimed_at: float) -> None:
        """Adopt the key set another replica fetched for its claim, waiting up to one fetch."""
        deadline = time.monotonic() + self._fetch_timeout
        while True:
            shared = await self._read_redis()
            if shared is not None and shared.fetched_at >= claimed_at:
                if self._is_newer(shared):
                    self._adopt(shared)
                return
            if time.monotonic() >= deadline:
                return  # its fetch failed or is lost: this kid stays unknown for now
            await asyncio.sleep(SHARED_REFETCH_POLL_SECONDS)

    async def _redis_get(self, redis: Redis) -> bytes | str | None:
        value: bytes | str | None = await redis.get(self._redis_keys_key)
        return value

    async def _redis_call(self, operation: Callable[[Redis], Awaitable[T]]) -> T:
        """Run one Redis command, or raise _RedisDown without a stack trace in the log."""
        if self._redis is None or time.monotonic() < self._redis_retry_at:
            raise _RedisDown
        try:
            result = await operation(self._redis)
        except (RedisError, OSError, TimeoutError) as exc:
            self._redis_retry_at = time.monotonic() + REDIS_RETRY_SECONDS
            if self._redis_healthy:
                self._redis_healthy = False
                logger.warning(
                    "Redis unavailable: JWKS cache and refetch cooldown are per-process for now",
                    extra={"error": type(exc).__name__},
                )
            raise _RedisDown from None
        if not self._redis_healthy:
            self._redis_healthy = True
            logger.info("Redis reachable again: JWKS cache shared across replicas")
        return result

    # -- lifecycle -------------------------------------------------------------------------

    async def aclose(self) -> None:
        if self._refresh_task is not None:
            self._refresh_task.cancel()
            await asyncio.gather(self._refresh_task, return_exceptions=True)
        await self._http.aclose()

"""The rules a bearer token must pass (tuned by `todo_shared.settings.VerifierSettings`).

A token is trusted iff it is small enough, is a compact JWS in canonical base64url (no
padding, no stray bits: one token has one spelling), claims a trusted `iss`, names an allowed
algorithm and a `kid` known to that issuer, is signed by that key with that key's algorithm,
and carries a valid `exp`, `aud` and a non-empty string `sub`. `exp`, `iat` and `nbf` are JSON
numbers; `iat` and `nbf`, when present, must not be in the future; the lifetime (`exp - iat`,
or `exp - now` without `iat`) is bounded; all within a small leeway for clock skew. The
algorithm is never taken from the token alone: it must be in the allowlist *and* be one the
key's type (and stated `alg`) permits.

The token is parsed once, here: its `iss` must be read before a key can be chosen, and PyJWT
would parse (and leniently accept) every segment again. PyJWT still supplies the keys and the
signature algorithms (`PyJWK`).

A client sends the same token with every request until it expires, so the verifier remembers
the tokens it verified (see `TokenVerifier`): the parsing and the signature check, a third of
a list request's own work, are not repeated, while everything that can change between two
requests of the same token still is: among that, whether the token's session (`sid`) has
ended (see `todo_shared.revocation`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
import re
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from redis.asyncio import Redis

from todo_shared.app import CheckReport, ServiceState, service_state
from todo_shared.jwks.cache import JwksCache, KeysUnavailable, UnknownKey
from todo_shared.jwks.keys import VerificationKey
from todo_shared.revocation import Revocations
from todo_shared.settings import VerifierSettings

MAX_KID_LENGTH = 256
# header.payload.signature, each unpadded base64url (the alphabet only: no `=`); an empty
# signature gets as far as the algorithm allowlist, which refuses `none`.
_COMPACT = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)")


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    subject: str
    claims: dict[str, Any]


class InvalidToken(Exception):
    """Why a token was refused; the reason is for the log, never for the client."""


def _base64url(segment: str) -> bytes:
    """The bytes of a canonical base64url segment: one that re-encodes to itself."""
    try:
        data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except binascii.Error:
        raise InvalidToken("malformed base64url") from None
    if base64.urlsafe_b64encode(data).rstrip(b"=") != segment.encode():
        raise InvalidToken("non-canonical base64url")
    return data


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_object(data: bytes) -> dict[str, Any]:
    """A JSON object in UTF-8, without NaN/Infinity (which `json` would otherwise accept)."""
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_no_constants)
    except (ValueError, RecursionError):  # RecursionError: deeply nested JSON
        raise InvalidToken("malformed token") from None
    if not isinstance(value, dict):
        raise InvalidToken("malformed token")
    return value


def _numeric_date(claims: dict[str, Any], name: str) -> float | None:
    """A NumericDate claim: a finite JSON number when present (never a string or a bool)."""
    if name not in claims:
        return None
    value = claims[name]
    try:
        finite = type(value) in (int, float) and math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        finite = False
    if not finite:
        raise InvalidToken(f"{name} is not a finite number")
    return float(value)


@dataclass(frozen=True, slots=True)
class _Issuer:
    audience: str
    keys: JwksCache


@dataclass(frozen=True, slots=True)
class _Verified:
    """What a token's full verification established: its signed claims, by which key."""

    claims: dict[str, Any]
    issuer: _Issuer
    kid: str
    key: VerificationKey
    expires: float  # its `exp`: forgotten then


class TokenVerifier:
    """Verifies bearer tokens against their issuer's JWKS (see `todo_shared.jwks`).

    The token's `iss` picks one of the trusted issuers before any key is looked up, so an
    unknown issuer costs no fetch, and a key is only ever taken from that issuer's JWKS.

    A token that passed is remembered, keyed by the whole token (any other string, one
    character apart, is verified from scratch), until its `exp`, at most `remembered` of them
    (the oldest forgotten first). Its signature and its parsing stand as long as the token's
    bytes do; what may change is checked again on every request: the key must still be the
    very key the issuer's cache holds under its `kid` (so a key that left the JWKS, or keys
    past JWKS_MAX_STALENESS_SECONDS, end its tokens as before), and `exp`, `nbf`, `iat`,
    the lifetime, `aud` and `sub` are checked against the clock as for a new token, and a
    token with a `sid` is refused once that session of its issuer has ended.
    """

    def __init__(
        self,
        settings: VerifierSettings,
        keys: Mapping[str, JwksCache],
        *,
        revocations: Revocations | None = None,
        remembered: int = 4096,
    ) -> None:
        self.revocations = revocations  # None: without Redis, no session is ever ended
        self._issuers = {
            trusted.issuer: _Issuer(trusted.audience, keys[trusted.issuer])
            for trusted in settings.trusted_issuers
        }
        self._algorithms = frozenset(settings.jwt_algorithms)
        self._leeway = settings.jwt_leeway_seconds
        self._max_lifetime = settings.jwt_max_lifetime_seconds
        self._max_bytes = settings.jwt_max_token_bytes
        self._remembered = remembered
        self._verified: dict[str, _Verified] = {}

    async def verify(self, token: str) -> VerifiedToken:
        if len(token) > self._max_bytes:
            raise InvalidToken("token larger than JWT_MAX_TOKEN_BYTES")
        known = self._verified.get(token)
        if known is not None:
            if known.expires > time.time() and await self._key_unchanged(known):
                subject = self._check_claims(known.claims, known.issuer.audience)
                await self._refuse_ended_session(known.claims)
                return VerifiedToken(subject=subject, claims=known.claims)
            # Verified from scratch below (and refused there if need be); another request with
            # the same token may have dropped it already while this one awaited the key.
            self._verified.pop(token, None)
        compact = _COMPACT.fullmatch(token)
        if compact is None:
            raise InvalidToken("padded base64url" if "=" in token else "malformed token")
        header = _json_object(_base64url(compact[1]))
        claims = _json_object(_base64url(compact[2]))
        signature = _base64url(compact[3])
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise InvalidToken(f"algorithm not allowed: {str(alg)[:20]!r}")
        if not isinstance(kid, str) or not kid or len(kid) > MAX_KID_LENGTH:
            raise InvalidToken("missing or invalid kid")
        if "crit" in header:
            raise InvalidToken("critical header extensions are not supported")
        iss = claims.get("iss")
        if not isinstance(iss, str):
            raise InvalidToken("missing or invalid iss")
        issuer = self._issuers.get(iss)
        if issuer is None:
            raise InvalidToken("issuer not trusted")
        try:
            key = await issuer.keys.get(kid)
        except UnknownKey:
            raise InvalidToken("unknown kid") from None
        except KeysUnavailable:
            raise InvalidToken("signing keys unavailable") from None
        jwk = key.by_algorithm.get(alg)
        if jwk is None:
            raise InvalidToken(f"algorithm {alg} does not match the key")
        signing_input = token[: compact.end(2)].encode()
        if not jwk.Algorithm.verify(signing_input, jwk.key, signature):
            raise InvalidToken("bad signature")
        subject = self._check_claims(claims, issuer.audience)
        await self._refuse_ended_session(claims)
        self._remember(token, _Verified(claims, issuer, kid, key, float(claims["exp"])))
        return VerifiedToken(subject=subject, claims=claims)

    async def _refuse_ended_session(self, claims: dict[str, Any]) -> None:
        if await self.session_ended(claims):
            raise InvalidToken("session ended")

    async def session_ended(self, claims: dict[str, Any]) -> bool:
        """Whether the session of these verified claims has ended (False without a `sid`)."""
        sid = claims.get("sid")
        if sid is None or self.revocations is None:
            return False
        if not isinstance(sid, str) or not sid:
            raise InvalidToken("invalid sid")
        return await self.revocations.is_ended(claims["iss"], sid)

    @asynccontextmanager
    async def watch_session(
        self, claims: dict[str, Any], event: asyncio.Event
    ) -> AsyncIterator[None]:
        """Set `event` whenever the session of these claims may have ended (a live stream
        then asks `session_ended`); nothing for a token without a `sid`."""
        sid = claims.get("sid")
        if self.revocations is None or not isinstance(sid, str):
            yield
            return
        with self.revocations.watch(claims["iss"], sid, event):
            yield

    async def _key_unchanged(self, known: _Verified) -> bool:
        try:
            return await known.issuer.keys.get(known.kid) is known.key
        except (UnknownKey, KeysUnavailable):
            return False

    def _remember(self, token: str, verified: _Verified) -> None:
        if len(self._verified) >= self._remembered:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = verified

    def _check_claims(self, claims: dict[str, Any], audience: str) -> str:
        """The subject of signed claims that are valid now (`iss` is settled by then)."""
        now = time.time()
        exp = _numeric_date(claims, "exp")
        if exp is None:
            raise InvalidToken("missing exp")
        iat, nbf = _numeric_date(claims, "iat"), _numeric_date(claims, "nbf")
        if exp <= now - self._leeway:
            raise InvalidToken("expired")
        if nbf is not None and nbf > now + self._leeway:
            raise InvalidToken("not yet valid (nbf)")
        if iat is not None and iat > now + self._leeway:
            raise InvalidToken("issued in the future (iat)")
        if exp - (now if iat is None else iat) > self._max_lifetime:
            raise InvalidToken("lifetime longer than JWT_MAX_LIFETIME_SECONDS")
        aud = claims.get("aud")
        if isinstance(aud, str):
            aud = [aud]
        if not isinstance(aud, list) or not all(isinstance(item, str) for item in aud):
            raise InvalidToken("missing or invalid aud")
        if audience not in aud:
            raise InvalidToken("wrong audience")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise InvalidToken("missing, empty or non-string sub")
        return sub

    async def issuers_ready(self) -> dict[str, bool]:
        """Per issuer, whether its signing keys are at hand (loading them if needed)."""
        ready = await asyncio.gather(*(issuer.keys.ensure() for issuer in self._issuers.values()))
        return dict(zip(self._issuers, ready, strict=True))

    async def warm_up(self) -> None:
        """Load every issuer's keys before the first request (see `JwksCache.warm_up`), and
        start hearing of ended sessions."""
        if self.revocations is not None:
            self.revocations.start()
        await asyncio.gather(*(issuer.keys.warm_up() for issuer in self._issuers.values()))

    async def ready(self) -> bool:
        """Whether tokens of at least one issuer can be verified."""
        return any((await self.issuers_ready()).values())

    async def aclose(self) -> None:
        if self.revocations is not None:
            await self.revocations.close()
        await asyncio.gather(*(issuer.keys.aclose() for issuer in self._issuers.values()))


def create_verifier(settings: VerifierSettings, redis: Redis | None) -> TokenVerifier:
    """A verifier with one key cache per trusted issuer, and (with Redis) session revocation:
    a session heard ended is remembered as long as any token may live."""
    keys = {
        trusted.issuer: JwksCache(
            settings.jwks_policy, issuer=trusted.issuer, jwks_url=trusted.jwks_url, redis=redis
        )
        for trusted in settings.trusted_issuers
    }
    revocations = None
    if redis is not None:
        remember = settings.jwt_max_lifetime_seconds + settings.jwt_leeway_seconds
        revocations = Revocations(redis, remember_seconds=remember)
    return TokenVerifier(settings, keys, revocations=revocations)


@dataclass(frozen=True, kw_only=True)
class VerifierState(ServiceState):
    """The state of a service that accepts bearer tokens: `CurrentUser` reads its verifier."""

    verifier: TokenVerifier


@asynccontextmanager
async def verifier_lifespan(
    settings: VerifierSettings, redis: Redis | None
) -> AsyncIterator[TokenVerifier]:
    """A verifier for a service's lifetime, closed at the end."""
    verifier = create_verifier(settings, redis)
    await verifier.warm_up()  # keys before the first request; a failure only delays them to it
    try:
        yield verifier
    finally:
        await verifier.aclose()


async def keys_check(app: FastAPI) -> CheckReport:
    """Readiness: each issuer's keys are shown; ready while at least one issuer is usable.

    One issuer down (say, the front end's Better Auth) must not take the service out of the
    load balancer for the clients of the others; its tokens are refused meanwhile.
    """
    ready = await service_state(app, VerifierState).verifier.issuers_ready()
    parts = {iss: "ok" if ok else "keys unavailable" for iss, ok in ready.items()}
    return CheckReport(ready=any(ready.values()), parts=parts)

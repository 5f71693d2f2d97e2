"""The rules a bearer token must pass (tuned by `todo_shared.settings.VerifierSettings`).

A token is trusted iff it is small enough, claims a trusted `iss`, names an allowed algorithm
and a `kid` known to that issuer, is signed by that key with that key's algorithm, and carries
a valid `exp`, `aud` and a string `sub` (`iat` and `nbf`, when present, must not be in the
future), all within a small leeway for clock skew. The algorithm is never taken from the token
alone: it must be in the allowlist *and* be one the key's type (and stated `alg`) permits.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import jwt
from fastapi import FastAPI
from redis.asyncio import Redis

from todo_shared.app import CheckReport
from todo_shared.jwks.cache import JwksCache, KeysUnavailable, UnknownKey
from todo_shared.settings import VerifierSettings

MAX_KID_LENGTH = 256
# `exp`, `iss`, `aud` and `sub` must be present; PyJWT checks `iat`/`nbf` whenever present.
_REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    subject: str
    claims: dict[str, Any]


class InvalidToken(Exception):
    """Why a token was refused; the reason is for the log, never for the client."""


def _segment_json(segment: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, RecursionError):  # RecursionError: deeply nested JSON
        raise InvalidToken("malformed token") from None


def _unverified_parts(token: str) -> tuple[dict[str, Any], str]:
    """The header and the claimed `iss`, only to pick the issuer and key: PyJWT parses the
    whole token strictly afterwards. (`jwt.get_unverified_header` would cost four times as
    much, validating every segment that `decode` validates again anyway.)
    """
    header_segment, _, rest = token.partition(".")
    header = _segment_json(header_segment)
    if not isinstance(header, dict):
        raise InvalidToken("malformed token")
    claims = _segment_json(rest.partition(".")[0])
    if not isinstance(claims, dict):
        raise InvalidToken("malformed token")
    issuer = claims.get("iss")
    if not isinstance(issuer, str):
        raise InvalidToken("missing or invalid iss")
    return header, issuer


@dataclass(frozen=True, slots=True)
class _Issuer:
    audience: str
    keys: JwksCache


class TokenVerifier:
    """Verifies bearer tokens against their issuer's JWKS (see `todo_shared.jwks`).

    The token's `iss` picks one of the trusted issuers before any key is looked up, so an
    unknown issuer costs no fetch, and a key is only ever taken from that issuer's JWKS.
    """

    def __init__(self, settings: VerifierSettings, keys: Mapping[str, JwksCache]) -> None:
        self._issuers = {
            trusted.issuer: _Issuer(trusted.audience, keys[trusted.issuer])
            for trusted in settings.trusted_issuers
        }
        self._algorithms = frozenset(settings.jwt_algorithms)
        self._leeway = settings.jwt_leeway_seconds
        self._max_bytes = settings.jwt_max_token_bytes
        self._jwt = jwt.PyJWT({"require": _REQUIRED_CLAIMS, "enforce_minimum_key_length": True})

    async def verify(self, token: str) -> VerifiedToken:
        if len(token) > self._max_bytes:
            raise InvalidToken("token larger than JWT_MAX_TOKEN_BYTES")
        header, iss = _unverified_parts(token)
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise InvalidToken(f"algorithm not allowed: {str(alg)[:20]!r}")
        if not isinstance(kid, str) or not kid or len(kid) > MAX_KID_LENGTH:
            raise InvalidToken("missing or invalid kid")
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
        try:
            claims: dict[str, Any] = self._jwt.decode(
                token,
                jwk,
                algorithms=[alg],
                audience=issuer.audience,
                issuer=iss,
                leeway=self._leeway,
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"{type(exc).__name__}: {exc}") from None
        return VerifiedToken(subject=claims["sub"], claims=claims)

    async def issuers_ready(self) -> dict[str, bool]:
        """Per issuer, whether its signing keys are at hand (loading them if needed)."""
        ready = await asyncio.gather(*(issuer.keys.ensure() for issuer in self._issuers.values()))
        return dict(zip(self._issuers, ready, strict=True))

    async def ready(self) -> bool:
        """Whether tokens of at least one issuer can be verified (so also the warm-up)."""
        return any((await self.issuers_ready()).values())

    async def aclose(self) -> None:
        await asyncio.gather(*(issuer.keys.aclose() for issuer in self._issuers.values()))


def create_verifier(settings: VerifierSettings, redis: Redis | None) -> TokenVerifier:
    """A verifier with one key cache per trusted issuer."""
    keys = {
        trusted.issuer: JwksCache(settings, trusted, redis) for trusted in settings.trusted_issuers
    }
    return TokenVerifier(settings, keys)


@asynccontextmanager
async def verifier_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Sets `app.state.verifier` (needs `app.state.settings` and `app.state.redis`)."""
    verifier = create_verifier(app.state.settings, app.state.redis)
    await verifier.ready()  # keys before the first request; a failure only delays them to it
    app.state.verifier = verifier
    try:
        yield
    finally:
        await verifier.aclose()


async def keys_check(app: FastAPI) -> CheckReport:
    """Readiness: each issuer's keys are shown; ready while at least one issuer is usable.

    One issuer down (say, the front end's Better Auth) must not take the service out of the
    load balancer for the clients of the others; its tokens are refused meanwhile.
    """
    verifier: TokenVerifier = app.state.verifier
    ready = await verifier.issuers_ready()
    parts = {iss: "ok" if ok else "keys unavailable" for iss, ok in ready.items()}
    return CheckReport(ready=any(ready.values()), parts=parts)

"""The rules a bearer token must pass (tuned by `todo_shared.settings.VerifierSettings`).

A token is trusted iff it is small enough, names an allowed algorithm and a known `kid`, is
signed by that key with that key's algorithm, and carries a valid `exp`, `iss`, `aud` and a
string `sub` (`iat` and `nbf`, when present, must not be in the future), all within a small
leeway for clock skew. The algorithm is never taken from the token alone: it must be in the
allowlist *and* be one the key's type (and stated `alg`) permits.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import jwt
from fastapi import FastAPI
from redis.asyncio import Redis

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


def _unverified_header(token: str) -> dict[str, Any]:
    """The header, only to pick the key: PyJWT parses the whole token strictly afterwards.

    A quarter of the price of `jwt.get_unverified_header`, which validates every segment that
    `decode` validates again anyway.
    """
    segment = token.partition(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, RecursionError):  # RecursionError: a deeply nested JSON header
        raise InvalidToken("malformed token") from None
    if not isinstance(header, dict):
        raise InvalidToken("malformed token")
    return header


class TokenVerifier:
    """Verifies bearer tokens against the issuer's JWKS (see `todo_shared.jwks`)."""

    def __init__(self, settings: VerifierSettings, keys: JwksCache) -> None:
        self.keys = keys
        self._algorithms = frozenset(settings.jwt_algorithms)
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._leeway = settings.jwt_leeway_seconds
        self._max_bytes = settings.jwt_max_token_bytes
        self._jwt = jwt.PyJWT({"require": _REQUIRED_CLAIMS, "enforce_minimum_key_length": True})

    async def verify(self, token: str) -> VerifiedToken:
        if len(token) > self._max_bytes:
            raise InvalidToken("token larger than JWT_MAX_TOKEN_BYTES")
        header = _unverified_header(token)
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise InvalidToken(f"algorithm not allowed: {str(alg)[:20]!r}")
        if not isinstance(kid, str) or not kid or len(kid) > MAX_KID_LENGTH:
            raise InvalidToken("missing or invalid kid")
        try:
            key = await self.keys.get(kid)
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
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"{type(exc).__name__}: {exc}") from None
        return VerifiedToken(subject=claims["sub"], claims=claims)

    async def ready(self) -> bool:
        """Whether signing keys are at hand, loading them if needed (so also the warm-up)."""
        return await self.keys.ensure()

    async def aclose(self) -> None:
        await self.keys.aclose()


def create_verifier(settings: VerifierSettings, redis: Redis | None) -> TokenVerifier:
    return TokenVerifier(settings, JwksCache(settings, redis))


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


async def keys_check(app: FastAPI) -> str | None:
    """Readiness: the signing keys are loaded and within max staleness."""
    verifier: TokenVerifier = app.state.verifier
    return None if await verifier.ready() else "keys unavailable"

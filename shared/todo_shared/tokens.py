"""The rules a bearer token must pass, and the settings that tune them.

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
from urllib.parse import urlsplit

import jwt
from fastapi import FastAPI
from pydantic import Field, field_validator, model_validator
from redis.asyncio import Redis

from todo_shared.jwks import KEY_TYPES, JwksCache, KeysUnavailable, UnknownKey
from todo_shared.settings import CommaSeparated, ServiceSettings

DEFAULT_ALGORITHMS = ("EdDSA", "ES256", "RS256")
MAX_KID_LENGTH = 256
# `exp`, `iss`, `aud` and `sub` must be present; PyJWT checks `iat`/`nbf` whenever present.
_REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]


class VerifierSettings(ServiceSettings):
    """Settings of a service that accepts bearer tokens (env names are the upper-cased fields)."""

    jwks_url: str = Field(
        default="http://localhost:8080/api/auth/jwks",
        description="Where the issuer publishes its public keys (JWKS).",
    )
    jwt_issuer: str = Field(
        default="http://localhost:8080", description="Required `iss` claim of every token."
    )
    jwt_audience: str = Field(
        default="http://localhost:8080",
        description="Required `aud` claim (the token's `aud` may be a list containing it).",
    )
    jwt_algorithms: CommaSeparated = Field(
        default_factory=lambda: list(DEFAULT_ALGORITHMS),
        description="Accepted signature algorithms, comma-separated; `none` and HS* are refused.",
    )
    jwt_leeway_seconds: float = Field(
        default=30, ge=0, le=300, description="Clock skew tolerated on `exp`, `nbf` and `iat`."
    )
    jwt_max_token_bytes: int = Field(
        default=8192, ge=256, description="Longer bearer tokens are refused unparsed."
    )
    jwks_allow_http_hosts: CommaSeparated = Field(
        default_factory=lambda: ["localhost", "127.0.0.1", "::1"],
        description="Hosts whose JWKS may be fetched over plain HTTP (e.g. the compose `auth`).",
    )
    jwks_fetch_timeout_seconds: float = Field(
        default=5, gt=0, le=60, description="Total time allowed for one JWKS fetch."
    )
    jwks_max_bytes: int = Field(
        default=64 * 1024, ge=1024, description="Largest JWKS response accepted."
    )
    jwks_cache_ttl_seconds: float = Field(
        default=300,
        gt=0,
        description=(
            "Keys older than this are refreshed in the background; a smaller Cache-Control "
            "max-age from the issuer shortens it (never below the refetch cooldown)."
        ),
    )
    jwks_refetch_cooldown_seconds: float = Field(
        default=30,
        gt=0,
        description="An unknown `kid` causes at most one JWKS fetch per this long (all replicas).",
    )
    jwks_unknown_kid_ttl_seconds: float = Field(
        default=5, gt=0, description="How long a `kid` found unknown is refused without a lookup."
    )
    jwks_retry_seconds: float = Field(
        default=5, gt=0, description="Wait after a failed JWKS fetch before trying again."
    )
    jwks_max_staleness_seconds: float = Field(
        default=24 * 3600,
        gt=0,
        description=(
            "While the JWKS endpoint fails, cached keys keep working until this old; "
            "then tokens are refused and readiness fails."
        ),
    )
    jwks_redis_key: str = Field(
        default="todo:jwks", min_length=1, description="Prefix of the Redis keys of the JWKS cache."
    )

    @field_validator("jwt_algorithms")
    @classmethod
    def _only_asymmetric(cls, algorithms: list[str]) -> list[str]:
        refused = [alg for alg in algorithms if alg not in KEY_TYPES]
        if refused:
            raise ValueError(
                f"unsupported algorithms {refused}: choose from {', '.join(KEY_TYPES)}"
                " (`none` and HS* are never accepted)"
            )
        if not algorithms:
            raise ValueError("at least one algorithm is required")
        return algorithms

    @model_validator(mode="after")
    def _https_unless_allowed(self) -> VerifierSettings:
        parts = urlsplit(self.jwks_url)
        if parts.scheme == "https" and parts.hostname:
            return self
        if parts.scheme == "http" and parts.hostname in self.jwks_allow_http_hosts:
            return self
        raise ValueError(
            "JWKS_URL must be https:// (plain http only for a host in JWKS_ALLOW_HTTP_HOSTS)"
        )


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
        return await self.keys.ensure()

    async def start(self) -> None:
        """Load keys before the first request; failing here only delays them to that request."""
        await self.keys.ensure()

    async def aclose(self) -> None:
        await self.keys.aclose()


def create_verifier(settings: VerifierSettings, redis: Redis | None) -> TokenVerifier:
    return TokenVerifier(settings, JwksCache(settings, redis))


@asynccontextmanager
async def verifier_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Sets `app.state.verifier` (needs `app.state.settings` and `app.state.redis`)."""
    verifier = create_verifier(app.state.settings, app.state.redis)
    await verifier.start()
    app.state.verifier = verifier
    try:
        yield
    finally:
        await verifier.aclose()


async def keys_check(app: FastAPI) -> str | None:
    """Readiness: the signing keys are loaded and within max staleness."""
    verifier: TokenVerifier = app.state.verifier
    return None if await verifier.ready() else "keys unavailable"

"""Which JWKS entries may verify which algorithm, and a key set as fetched from an issuer."""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

logger = logging.getLogger("todo.jwks")

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


class JwksError(Exception):
    """A fetch or a stored key set failed; the message is safe to log."""


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """One public key, constructed once per algorithm the token header may name for it."""

    kid: str
    by_algorithm: Mapping[str, jwt.PyJWK]


@dataclass(frozen=True, slots=True)
class FetchedKeys:
    """An issuer's usable keys with the document they came from and when it was fetched."""

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
    # Keys below the algorithm's minimum size (RSA under 2048 bits) never verify anything.
    strong = {
        alg: key for alg, key in by_algorithm.items() if not key.Algorithm.check_key_length(key.key)
    }
    return VerificationKey(kid, strong) if strong else None


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

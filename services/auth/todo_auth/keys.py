"""Ed25519 signing keys: creation, encryption at rest, the JWKS, signing, rotation, pruning.

Keys live in the database so every replica signs with the same key and publishes the same
set. Each replica keeps them in memory for `KEY_CACHE_SECONDS`, so a rotation reaches every
replica within that time, and a retired key stays published for that long plus the token
lifetime plus a clock leeway: no token it signed can outlive it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from todo_auth import repository
from todo_auth.models import SigningKey
from todo_auth.settings import Settings
from todo_shared.db import Database, Queries, open_database

logger = logging.getLogger("todo.auth.keys")

CLOCK_LEEWAY_SECONDS = 60
# The JWKS endpoint reads the database at most this often per replica.
JWKS_READ_INTERVAL_SECONDS = 1.0
_HKDF_INFO = b"todo-auth signing keys v1"
_NONCE_BYTES = 12
_RAW = serialization.Encoding.Raw


class KeyDecryptionError(RuntimeError):
    """The stored private key does not open with this KEY_ENCRYPTION_SECRET."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class KeyCipher:
    """AES-256-GCM with a key derived from the secret; the kid is bound in as associated data."""

    def __init__(self, secret: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
            secret.encode()
        )
        self._aead = AESGCM(key)

    def encrypt(self, kid: str, plaintext: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, kid.encode())

    def decrypt(self, kid: str, blob: bytes) -> bytes:
        try:
            return self._aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], kid.encode())
        except InvalidTag:
            raise KeyDecryptionError(
                f"signing key {kid} cannot be decrypted: KEY_ENCRYPTION_SECRET is not the one "
                "it was stored with"
            ) from None


def thumbprint_kid(public_raw: bytes) -> str:
    """RFC 7638 JWK thumbprint: a kid that names the key itself."""
    members = {"crv": "Ed25519", "kty": "OKP", "x": _b64url(public_raw)}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return _b64url(hashlib.sha256(canonical).digest())


def generate_key(cipher: KeyCipher, *, activates_at: datetime | None = None) -> SigningKey:
    private = Ed25519PrivateKey.generate()
    public_raw = private.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
    private_raw = private.private_bytes(
        _RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    kid = thumbprint_kid(public_raw)
    return SigningKey(
        kid=kid,
        public_key=public_raw,
        encrypted_private_key=cipher.encrypt(kid, private_raw),
        activates_at=activates_at or datetime.now(UTC),
    )


def public_jwk(key: SigningKey) -> dict[str, str]:
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64url(key.public_key),
        "kid": key.kid,
        "alg": "EdDSA",
        "use": "sig",
    }


def publish_window(settings: Settings) -> timedelta:
    """How long a retired key stays published: it may still sign until replicas notice."""
    return timedelta(
        seconds=settings.access_token_ttl_seconds
        + settings.key_cache_seconds
        + CLOCK_LEEWAY_SECONDS
    )


async def ensure_signing_key(db: Queries, cipher: KeyCipher) -> None:
    """Create the first key; replicas starting together wait on the lock, then find it."""
    await repository.lock_signing_keys(db)
    if not await repository.active_key_exists(db):
        key = generate_key(cipher)
        await repository.add_signing_key(db, key)
        logger.info("signing key created", extra={"kid": key.kid})


async def rotate(
    db: Queries, cipher: KeyCipher, settings: Settings, *, now: bool = False
) -> tuple[SigningKey, int]:
    """Add a key that takes over after KEY_ACTIVATION_DELAY_SECONDS (at once with `now`, or
    when no key is signing), retire the current one from that moment, and delete keys no
    live token can name."""
    await repository.lock_signing_keys(db)
    rotated_at = datetime.now(UTC)
    wait = not now and await repository.key_signing_at(db, rotated_at)
    delay = settings.key_activation_delay_seconds if wait else 0
    activates_at = rotated_at + timedelta(seconds=delay)
    await repository.retire_active_keys(db, at=activates_at)
    key = generate_key(cipher, activates_at=activates_at)
    await repository.add_signing_key(db, key)
    pruned = await repository.delete_keys_retired_before(db, rotated_at - publish_window(settings))
    return key, pruned


async def rotate_keys(settings: Settings, *, now: bool = False) -> tuple[str, int]:
    """The `rotate-keys` command: one transaction against the service's database."""
    async with open_database(settings) as db, db.transaction() as transaction:
        cipher = KeyCipher(settings.key_encryption_secret)
        key, pruned = await rotate(transaction, cipher, settings, now=now)
    logger.info(
        "signing key rotated",
        extra={"kid": key.kid, "activates_at": key.activates_at.isoformat(), "pruned": pruned},
    )
    return key.kid, pruned


def signing_key(keys: Sequence[SigningKey], at: datetime) -> SigningKey:
    """The key to sign with at `at`: the latest activated one not yet retired."""
    active = [
        key
        for key in keys
        if key.activates_at <= at and (key.retired_at is None or key.retired_at > at)
    ]
    if not active:  # only a key still to activate (the clock stepped back): the first of them
        return min(keys, key=lambda key: key.activates_at)
    return max(active, key=lambda key: key.activates_at)


@dataclass(frozen=True)
class KeySet:
    kid: str
    private_key: Ed25519PrivateKey
    jwks: Mapping[str, Any]
    loaded_at: float


class KeyStore:
    """The keys as this replica last read them, re-read after `KEY_CACHE_SECONDS`."""

    def __init__(
        self,
        database: Database,
        cipher: KeyCipher,
        settings: Settings,
    ) -> None:
        self._database = database
        self._cipher = cipher
        self._settings = settings
        self._current: KeySet | None = None
        self._lock = asyncio.Lock()

    async def current(self) -> KeySet:
        keys = self._current
        if keys is not None and not self._stale(keys):
            return keys
        async with self._lock:  # one reload at a time; the others reuse its result
            keys = self._current
            if keys is None or self._stale(keys):
                keys = self._current = await self._load(keys)
            return keys

    async def published(self) -> KeySet:
        """The keys for the JWKS endpoint, at most JWKS_READ_INTERVAL_SECONDS old (and never
        older than KEY_CACHE_SECONDS).

        A public endpoint must not cost a database read per call. It stays nearly current
        because a verifier fetches the JWKS when it meets a `kid` it does not know: a rotated
        key is published KEY_ACTIVATION_DELAY_SECONDS before it signs, so only `--now` can
        make a replica sign with a key another replica published a moment ago, and then
        for at most this interval. Concurrent callers share one read.
        """
        max_age = min(JWKS_READ_INTERVAL_SECONDS, self._settings.key_cache_seconds)
        requested_at = time.monotonic()
        keys = self._current
        if keys is not None and requested_at - keys.loaded_at < max_age:
            return keys
        async with self._lock:
            keys = self._current
            if keys is None or keys.loaded_at < requested_at - max_age:
                keys = self._current = await self._load(keys)
            return keys

    def _stale(self, keys: KeySet) -> bool:
        return time.monotonic() - keys.loaded_at >= self._settings.key_cache_seconds

    async def _load(self, previous: KeySet | None) -> KeySet:
        retired_after = datetime.now(UTC) - publish_window(self._settings)
        rows = await repository.published_keys(self._database, retired_after=retired_after)
        if not any(row.retired_at is None for row in rows):
            async with self._database.transaction() as transaction:
                await ensure_signing_key(transaction, self._cipher)
                rows = await repository.published_keys(transaction, retired_after=retired_after)
        signing = signing_key(rows, datetime.now(UTC))
        if previous is not None and previous.kid == signing.kid:
            private_key = previous.private_key
        else:
            raw = self._cipher.decrypt(signing.kid, signing.encrypted_private_key)
            private_key = Ed25519PrivateKey.from_private_bytes(raw)
            logger.info("signing with key", extra={"kid": signing.kid})
        return KeySet(
            kid=signing.kid,
            private_key=private_key,
            jwks={"keys": [public_jwk(row) for row in rows]},
            loaded_at=time.monotonic(),
        )

    async def verify(self, token: str) -> dict[str, Any]:
        """The claims of a valid token this service signed with a key it still publishes;
        `jwt.InvalidTokenError` otherwise. A kid not known yet (a key rotated `--now` on
        another replica) is looked for once more in the keys as published now."""
        kid = jwt.get_unverified_header(token).get("kid")
        for load in (self.current, self.published):
            found = [jwk for jwk in (await load()).jwks["keys"] if jwk["kid"] == kid]
            if found:
                claims: dict[str, Any] = jwt.decode(
                    token,
                    jwt.PyJWK.from_dict(found[0]).key,
                    algorithms=["EdDSA"],
                    audience=self._settings.jwt_audience,
                    issuer=self._settings.jwt_issuer,
                    leeway=CLOCK_LEEWAY_SECONDS,
                    options={"require": ["exp", "iat", "iss", "aud", "sub"]},
                )
                return claims
        raise jwt.InvalidTokenError("unknown kid")

    async def sign(self, claims: Mapping[str, Any]) -> str:
        keys = await self.current()
        return jwt.encode(
            dict(claims), keys.private_key, algorithm="EdDSA", headers={"kid": keys.kid}
        )

"""Signing keys: the JWKS, encryption at rest, first start with replicas, rotation, pruning."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from asgi_lifespan import LifespanManager
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.database import engine_for
from todo_auth import repository
from todo_auth.keys import (
    JWKS_READ_INTERVAL_SECONDS,
    KeyCipher,
    KeyDecryptionError,
    generate_key,
    publish_window,
    rotate_keys,
)
from todo_auth.main import create_auth_app
from todo_auth.settings import Settings
from todo_auth.state import AuthState
from todo_shared.app import service_state
from todo_shared.db import open_database

Fixture = Callable[..., Any]

REPLICAS = 6


@pytest.fixture
def settings(fresh_settings: Settings) -> Settings:
    """A database of its own, and no in-memory key cache: each request reads the keys."""
    return fresh_settings


@pytest.fixture
async def key_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = engine_for(settings)
    yield engine
    await engine.dispose()


async def key_rows(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        result = await conn.execute(text("SELECT * FROM signing_keys ORDER BY created_at"))
        return list(result.all())


async def jwks_kids(service: Any) -> set[str]:
    return {key["kid"] for key in (await service.client.get("/api/auth/jwks")).json()["keys"]}


def kid_of(token: str) -> str:
    kid: str = jwt.get_unverified_header(token)["kid"]
    return kid


async def verifies(service: Any, token: str) -> bool:
    jwks = (await service.client.get("/.well-known/jwks.json")).json()
    keys = jwt.PyJWKSet.from_dict(jwks)
    try:
        jwt.decode(
            token,
            keys[kid_of(token)],
            algorithms=["EdDSA"],
            audience=service.settings.jwt_audience,
            issuer=service.settings.jwt_issuer,
        )
    except (jwt.PyJWTError, KeyError):
        return False
    return True


async def test_jwks_is_public_keys_only_with_cache_control(service: Any) -> None:
    first = await service.client.get("/api/auth/jwks")
    second = await service.client.get("/.well-known/jwks.json")

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    for response in (first, second):
        assert response.headers["cache-control"] == "public, max-age=300"
    (key,) = first.json()["keys"]
    assert set(key) == {"kty", "crv", "x", "kid", "alg", "use"}  # no private "d"
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")


async def test_jwks_max_age_follows_settings(start_service: Fixture) -> None:
    async with start_service(jwks_max_age_seconds=42) as service:
        response = await service.client.get("/api/auth/jwks")

    assert response.headers["cache-control"] == "public, max-age=42"


async def test_private_key_is_encrypted_at_rest(
    settings: Settings, key_engine: AsyncEngine, start_service: Fixture
) -> None:
    async with start_service(settings):
        pass

    (row,) = await key_rows(key_engine)
    raw = KeyCipher(settings.key_encryption_secret).decrypt(row.kid, row.encrypted_private_key)
    public = Ed25519PrivateKey.from_private_bytes(raw).public_key()
    assert public.public_bytes(Encoding.Raw, PublicFormat.Raw) == row.public_key
    assert raw not in row.encrypted_private_key

    other = settings.model_copy(update={"key_encryption_secret": "another-secret-of-length"})
    with pytest.raises(KeyDecryptionError, match="KEY_ENCRYPTION_SECRET"):
        async with LifespanManager(create_auth_app(other)):
            pass


async def test_instances_starting_together_create_one_key(
    settings: Settings, key_engine: AsyncEngine, start_service: Fixture
) -> None:
    async with AsyncExitStack() as stack:
        services = await asyncio.gather(
            *(stack.enter_async_context(start_service(settings)) for _ in range(REPLICAS))
        )
        published = [await jwks_kids(service) for service in services]

    rows = await key_rows(key_engine)
    assert len(rows) == 1
    assert published == [{rows[0].kid}] * REPLICAS


async def test_rotation_keeps_old_tokens_valid(
    settings: Settings,
    key_engine: AsyncEngine,
    start_service: Fixture,
    signup: Fixture,
    login: Fixture,
) -> None:
    async with start_service(settings) as service:
        await signup(service.client, "rotate@example.com")
        old_token = await login(service.client, "rotate@example.com")

        new_kid, pruned = await rotate_keys(settings, now=True)

        new_token = await login(service.client, "rotate@example.com")
        assert pruned == 0
        assert kid_of(new_token) == new_kid != kid_of(old_token)
        assert await jwks_kids(service) == {kid_of(old_token), new_kid}
        assert await verifies(service, old_token)
        assert await verifies(service, new_token)
    old_row, new_row = await key_rows(key_engine)
    assert old_row.retired_at is not None
    assert new_row.retired_at is None


async def test_rotation_publishes_the_new_key_before_it_signs(
    settings: Settings, start_service: Fixture, signup: Fixture, login: Fixture
) -> None:
    """Verifiers that cache the JWKS learn the new key during the activation delay, so they
    never meet a token signed by a key they do not know."""
    delayed = settings.model_copy(update={"key_activation_delay_seconds": 2})
    async with start_service(delayed) as service:
        await signup(service.client, "pre@example.com")
        old_kid = kid_of(await login(service.client, "pre@example.com"))

        new_kid, _ = await rotate_keys(delayed)

        assert await jwks_kids(service) == {old_kid, new_kid}
        assert kid_of(await login(service.client, "pre@example.com")) == old_kid
        await asyncio.sleep(2.1)
        new_token = await login(service.client, "pre@example.com")
        assert kid_of(new_token) == new_kid
        assert await jwks_kids(service) == {old_kid, new_kid}  # old tokens still verify
        assert await verifies(service, new_token)


async def test_replicas_sign_with_a_rotated_key_within_the_cache_time(
    settings: Settings, start_service: Fixture, signup: Fixture, login: Fixture
) -> None:
    cached = settings.model_copy(update={"key_cache_seconds": 1})
    async with start_service(cached) as first, start_service(cached) as second:
        await signup(first.client, "replica@example.com")
        before = {kid_of(await login(s.client, "replica@example.com")) for s in (first, second)}

        new_kid, _ = await rotate_keys(settings, now=True)
        await asyncio.sleep(1.2)

        after = {kid_of(await login(s.client, "replica@example.com")) for s in (first, second)}
        published = [await jwks_kids(s) for s in (first, second)]
    assert len(before) == 1
    assert after == {new_kid}
    assert published == [before | after] * 2


async def test_signing_keys_are_cached_but_the_jwks_is_at_most_a_moment_behind(
    settings: Settings, start_service: Fixture, signup: Fixture, login: Fixture
) -> None:
    cached = settings.model_copy(update={"key_cache_seconds": 60})
    async with start_service(cached) as service:
        await signup(service.client, "cache@example.com")
        old_kid = kid_of(await login(service.client, "cache@example.com"))

        new_kid, _ = await rotate_keys(settings, now=True)
        await asyncio.sleep(JWKS_READ_INTERVAL_SECONDS)

        assert kid_of(await login(service.client, "cache@example.com")) == old_kid
        # The JWKS is not behind the database for longer than that: a verifier that meets
        # the new kid (signed by another replica) and fetches the JWKS here finds it.
        assert await jwks_kids(service) == {old_kid, new_kid}
    assert new_kid != old_kid


async def test_jwks_requests_share_database_reads(
    settings: Settings, start_service: Fixture
) -> None:
    cached = settings.model_copy(update={"key_cache_seconds": 60})
    async with start_service(cached) as service:
        reads = 0

        database = service_state(service.app, AuthState).database
        fetch = database.fetch

        async def counted(query: str, *args: Any) -> list[Any]:
            nonlocal reads
            reads += "FROM signing_keys" in query
            return await fetch(query, *args)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(database, "fetch", counted)
            responses = [await service.client.get("/api/auth/jwks") for _ in range(50)]

    assert {response.status_code for response in responses} == {200}
    assert reads <= 2  # one read at most, two if the interval ends in the middle


async def test_expired_keys_leave_the_jwks_and_are_pruned(
    settings: Settings, key_engine: AsyncEngine, start_service: Fixture
) -> None:
    cipher = KeyCipher(settings.key_encryption_secret)
    now = datetime.now(UTC)
    window = publish_window(settings)
    expired, recent = generate_key(cipher), generate_key(cipher)
    expired.created_at, expired.retired_at = now - 2 * window, now - window - timedelta(seconds=5)
    recent.created_at, recent.retired_at = now - window, now - timedelta(seconds=5)
    async with open_database(settings) as database:
        for key in (expired, recent):
            await repository.add_signing_key(database, key)

    async with start_service(settings) as service:
        current = await jwks_kids(service) - {recent.kid}
        assert expired.kid not in current
        assert len(current) == 1

        new_kid, pruned = await rotate_keys(settings, now=True)

        assert pruned == 1
        assert await jwks_kids(service) == current | {recent.kid, new_kid}
    assert expired.kid not in {row.kid for row in await key_rows(key_engine)}
    assert publish_window(settings) >= timedelta(seconds=settings.access_token_ttl_seconds)


def run_cli(*args: str, settings: Settings, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "ENVIRONMENT": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "KEY_ENCRYPTION_SECRET": settings.key_encryption_secret,
    }
    command = Path(sys.executable).with_name("todo-auth")
    return subprocess.run(
        [str(command), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


async def test_cli_migrates_and_rotates(
    base_settings: Settings, create_database: Callable[[str], str], tmp_path: Path
) -> None:
    settings = base_settings.model_copy(update={"database_url": create_database("auth_cli")})

    migrated = await asyncio.to_thread(run_cli, "migrate", settings=settings, cwd=tmp_path)
    first = await asyncio.to_thread(run_cli, "rotate-keys", settings=settings, cwd=tmp_path)
    second = await asyncio.to_thread(run_cli, "rotate-keys", settings=settings, cwd=tmp_path)

    assert migrated.returncode == first.returncode == second.returncode == 0, second.stderr
    logged = [json.loads(line) for line in second.stdout.splitlines() if line.startswith("{")]
    (rotated,) = [entry for entry in logged if entry["msg"] == "signing key rotated"]
    engine = engine_for(settings)
    try:
        rows = await key_rows(engine)
    finally:
        await engine.dispose()
    assert [row.kid for row in rows if row.retired_at is None] == [rotated["kid"]]
    assert len(rows) == 2
    first_key, second_key = rows
    # Nothing was signing before the first rotation: its key activated at once. The second
    # is published KEY_ACTIVATION_DELAY_SECONDS before it signs; the first signs until then.
    assert first_key.activates_at - first_key.created_at < timedelta(seconds=5)
    delay = timedelta(seconds=settings.key_activation_delay_seconds)
    assert second_key.activates_at - second_key.created_at >= delay - timedelta(seconds=1)
    assert first_key.retired_at == second_key.activates_at

"""Verifiers wired to a real Redis and to a real JWKS served over HTTP by `TestIssuer`."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.support.issuer import TestIssuer
from todo_shared.app import create_redis
from todo_shared.settings import VerifierSettings
from todo_shared.tokens import TokenVerifier, create_verifier


@pytest.fixture
def issuer() -> Iterator[TestIssuer]:
    with TestIssuer() as test_issuer:
        yield test_issuer


@pytest.fixture
def make_settings(redis_url: str) -> Callable[..., VerifierSettings]:
    """Settings for one test: its own Redis key prefix, so replicas share only what they should."""
    prefix = f"test:jwks:{uuid.uuid4().hex}"

    def make(issuer: TestIssuer, **overrides: Any) -> VerifierSettings:
        values: dict[str, Any] = {
            "environment": "test",
            "jwks_url": issuer.jwks_url,
            "jwt_issuer": issuer.issuer,
            "jwt_audience": issuer.audience,
            "redis_url": redis_url,
            "jwks_redis_key": prefix,
            **overrides,
        }
        return VerifierSettings(_env_file=None, **values)

    return make


@pytest.fixture
async def make_verifier() -> AsyncIterator[Callable[..., TokenVerifier]]:
    """Each call is one replica: its own memory cache and Redis client (or none)."""
    created: list[tuple[TokenVerifier, Redis | None]] = []

    def make(settings: VerifierSettings, *, redis: bool = True) -> TokenVerifier:
        client = create_redis(settings) if redis else None
        verifier = create_verifier(settings, client)
        created.append((verifier, client))
        return verifier

    yield make
    for verifier, client in created:
        await verifier.aclose()
        if client is not None:
            await client.aclose()


Eventually = Callable[[Callable[[], bool]], Awaitable[None]]


@pytest.fixture
def eventually() -> Eventually:
    """Waits for something a background task does; fails the test if it never happens."""

    async def wait(condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 5.0
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail("condition not met in time")
            await asyncio.sleep(0.02)

    return wait

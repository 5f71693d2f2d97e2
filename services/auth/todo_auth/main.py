"""The auth service's ASGI app, built by `app_from_environment` in each worker of `todo-auth
serve` (or `uvicorn --factory todo_auth.main:app_from_environment`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import Redis

from todo_auth import sessions
from todo_auth.keys import KeyCipher, KeyStore
from todo_auth.passwords import PasswordHasher
from todo_auth.rate_limit import RateLimiter
from todo_auth.routers import auth
from todo_auth.settings import Settings
from todo_auth.state import AuthState
from todo_shared.app import create_app, service_state
from todo_shared.db import open_database
from todo_shared.errors import ServiceUnavailable

logger = logging.getLogger("todo.auth")


async def database_check(app: FastAPI) -> str | None:
    await service_state(app, AuthState).database.fetchval("SELECT 1")
    return None


def create_auth_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(redis: Redis) -> AsyncIterator[AuthState]:
        hasher = PasswordHasher(
            rounds=settings.bcrypt_rounds, max_concurrency=settings.bcrypt_max_concurrency
        )
        try:
            async with open_database(settings) as database:
                keys = KeyStore(database, KeyCipher(settings.key_encryption_secret), settings)
                try:
                    # Creates the first key, and fails start-up now if the secret cannot open it.
                    await keys.current()
                except ServiceUnavailable:
                    # Start anyway: /readyz reports the database, and keys load on first use.
                    logger.warning("signing keys not loaded: database unavailable")
                state = AuthState(
                    settings=settings,
                    redis=redis,
                    database=database,
                    hasher=hasher,
                    keys=keys,
                    limiter=RateLimiter(redis, settings),
                )
                upkeep = asyncio.create_task(sessions.maintain_periodically(state))
                try:
                    yield state
                finally:
                    upkeep.cancel()
        finally:
            hasher.close()

    return create_app(
        settings,
        title="Todo auth",
        service_name="todo-auth",
        description=(
            "Signup, login (an EdDSA-signed JWT access token with its session's `sid`, and a "
            "refresh token), refresh, sessions, password change and the public keys that "
            'verify the tokens (JWKS). Errors are `{"detail": ...}`: 400 lists the field errors.'
        ),
        routers=[auth.router],
        openapi_url="/api/auth/openapi.json",
        service_lifespan=lifespan,
        readiness_checks={"database": database_check},
    )


def app_from_environment() -> FastAPI:
    """The app with the settings of the environment, read when a worker starts (importing this
    module reads nothing)."""
    return create_auth_app(Settings())

"""The auth service's ASGI app, built by `app_from_environment` in each worker of `todo-auth
serve` (or `uvicorn --factory todo_auth.main:app_from_environment`)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from todo_auth.keys import KeyCipher, KeyStore
from todo_auth.passwords import PasswordHasher
from todo_auth.rate_limit import RateLimiter
from todo_auth.routers import auth
from todo_auth.settings import Settings
from todo_auth.state import AuthState
from todo_shared.app import create_app, service_state
from todo_shared.db import create_engine, create_sessionmaker

logger = logging.getLogger("todo.auth")


async def database_check(app: FastAPI) -> str | None:
    async with service_state(app, AuthState).engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return None


def create_auth_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(redis: Redis) -> AsyncIterator[AuthState]:
        engine = create_engine(settings)
        sessionmaker = create_sessionmaker(engine)
        hasher = PasswordHasher(
            rounds=settings.bcrypt_rounds, max_concurrency=settings.bcrypt_max_concurrency
        )
        keys = KeyStore(sessionmaker, KeyCipher(settings.key_encryption_secret), settings)
        try:
            try:
                # Creates the first key, and fails start-up now if the secret cannot open it.
                await keys.current()
            except (DBAPIError, OSError, TimeoutError) as exc:
                # Start anyway: /readyz reports the database, and keys load on first use.
                logger.warning("signing keys not loaded", extra={"error": type(exc).__name__})
            yield AuthState(
                settings=settings,
                redis=redis,
                engine=engine,
                sessionmaker=sessionmaker,
                hasher=hasher,
                keys=keys,
                limiter=RateLimiter(redis, settings),
            )
        finally:
            hasher.close()
            await engine.dispose()

    return create_app(
        settings,
        title="Todo auth",
        description=(
            "Signup, login (an EdDSA-signed JWT access token) and the public keys that verify "
            'it (JWKS). Errors are `{"detail": ...}`: 400 lists the field errors.'
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

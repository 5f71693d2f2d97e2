"""The shared verifier accepts this service's tokens, fetching its JWKS over real HTTP."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import jwt
import pytest
import uvicorn
from redis.asyncio import Redis

from todo_auth.keys import rotate_keys
from todo_auth.main import create_auth_app
from todo_auth.settings import Settings
from todo_shared.settings import VerifierSettings
from todo_shared.tokens import InvalidToken, TokenVerifier, create_verifier

PASSWORD = "correct horse battery"


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[str]:
    """The auth app under a real uvicorn server on 127.0.0.1, in a thread of its own."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_auth_app(settings), log_config=None))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive(), "auth server stopped during start-up"
        assert time.monotonic() < deadline, "auth server did not start in time"
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 10)
        sock.close()


@asynccontextmanager
async def verifier_for(base_url: str, settings: Settings) -> AsyncIterator[TokenVerifier]:
    verifier_settings = VerifierSettings(
        _env_file=None,
        jwks_url=f"{base_url}/api/auth/jwks",
        jwt_issuer=settings.jwt_issuer,
        jwt_audience=settings.jwt_audience,
        redis_url=settings.redis_url,
        jwks_redis_key=f"test-auth-verifier:{uuid.uuid4().hex}",
    )
    redis = Redis.from_url(settings.redis_url)
    verifier = create_verifier(verifier_settings, redis)
    assert await verifier.ready()
    try:
        yield verifier
    finally:
        await verifier.aclose()
        await redis.aclose()


async def log_in(http: httpx.AsyncClient, email: str) -> str:
    response = await http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def test_shared_verifier_accepts_tokens_across_a_rotation(fresh_settings: Settings) -> None:
    settings = fresh_settings
    async with served(settings) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        signup = await http.post(
            "/api/auth/signup", json={"email": "verify@example.com", "password": PASSWORD}
        )
        user_id = signup.json()["id"]
        old_token = await log_in(http, "verify@example.com")

        async with verifier_for(base_url, settings) as verifier:
            verified = await verifier.verify(old_token)
            assert verified.subject == user_id
            assert verified.claims["email"] == "verify@example.com"

            header, payload, signature = old_token.split(".")
            forged = f"{header}.{payload}.{signature[::-1]}"
            with pytest.raises(InvalidToken):
                await verifier.verify(forged)

            new_kid, _ = await rotate_keys(settings, now=True)
            new_token = await log_in(http, "verify@example.com")
            assert jwt.get_unverified_header(new_token)["kid"] == new_kid
            assert (await verifier.verify(new_token)).subject == user_id
            assert (await verifier.verify(old_token)).subject == user_id


async def test_shared_verifier_refuses_another_audience(fresh_settings: Settings) -> None:
    settings = fresh_settings.model_copy(update={"jwt_audience": "some-other-api"})
    expected = fresh_settings
    async with served(settings) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        await http.post("/api/auth/signup", json={"email": "aud@example.com", "password": PASSWORD})
        token = await log_in(http, "aud@example.com")
        async with verifier_for(base_url, expected) as verifier:
            with pytest.raises(InvalidToken):
                await verifier.verify(token)


async def test_a_logout_reaches_the_shared_verifier_which_refuses_the_remembered_token(
    base_settings: Settings,
) -> None:
    """The auth service's publication and the verifier's subscription speak the same protocol."""
    async with served(base_settings) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        await http.post("/api/auth/signup", json={"email": "out@example.com", "password": PASSWORD})
        token = await log_in(http, "out@example.com")
        async with verifier_for(base_url, base_settings) as verifier:
            assert verifier.revocations is not None
            await verifier.warm_up()
            await verifier.revocations.subscribed()
            claims = (await verifier.verify(token)).claims  # remembered from now on
            heard = asyncio.Event()
            async with verifier.watch_session(claims, heard):
                logout = await http.post(
                    "/api/auth/logout", headers={"Authorization": f"Bearer {token}"}
                )
                assert logout.status_code == 204
                await heard.wait()
            with pytest.raises(InvalidToken, match="session ended"):
                await verifier.verify(token)

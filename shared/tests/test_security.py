"""`get_current_user` inside a real FastAPI app: one generic 401, the reason only in the log."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, FastAPI
from redis.asyncio import Redis

from tests.support.issuer import TestIssuer
from todo_shared.app import create_app
from todo_shared.security import CurrentUser
from todo_shared.settings import VerifierSettings
from todo_shared.tokens import VerifierState, keys_check, verifier_lifespan


def build_app(settings: VerifierSettings) -> FastAPI:
    """The verifier's part of a service: its state, and one protected route."""
    router = APIRouter()

    @router.get("/me")
    async def me(user: CurrentUser) -> dict[str, str]:
        return {"subject": user.subject, "email": user.claims["email"]}

    @asynccontextmanager
    async def lifespan(redis: Redis) -> AsyncIterator[VerifierState]:
        async with verifier_lifespan(settings, redis) as verifier:
            yield VerifierState(settings=settings, redis=redis, verifier=verifier)

    return create_app(settings, title="t", routers=[router], service_lifespan=lifespan)


@pytest.fixture
async def app(
    issuer: TestIssuer, make_settings: Callable[..., VerifierSettings]
) -> AsyncIterator[FastAPI]:
    app = build_app(make_settings(issuer))
    async with LifespanManager(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_valid_bearer_token_identifies_the_caller(
    issuer: TestIssuer, client: httpx.AsyncClient
) -> None:
    response = await client.get("/me", headers={"Authorization": f"Bearer {issuer.mint('u-9')}"})

    assert response.status_code == 200
    assert response.json() == {"subject": "u-9", "email": "u-9@example.com"}


def _bad_authorizations(issuer: TestIssuer) -> dict[str, str | None]:
    return {
        "no header": None,
        "empty bearer": "Bearer ",
        "basic scheme": "Basic dXNlcjpwYXNz",
        "token without scheme": issuer.mint(),
        "garbage": "Bearer garbage",
        "expired": f"Bearer {issuer.mint(exp=int(time.time()) - 600)}",
        "wrong audience": f"Bearer {issuer.mint(aud='someone-else')}",
        "alg none": "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4In0.",
    }


async def test_every_refusal_is_the_same_generic_401(
    issuer: TestIssuer, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    for case, authorization in _bad_authorizations(issuer).items():
        headers = {} if authorization is None else {"Authorization": authorization}
        response = await client.get("/me", headers=headers)

        assert response.status_code == 401, case
        assert response.headers["www-authenticate"] == "Bearer", case
        assert response.json() == {"detail": "invalid token"}, case

    reasons = [getattr(r, "reason", "") for r in caplog.records if r.name == "todo.security"]
    assert len(reasons) == len(_bad_authorizations(issuer))
    assert any("expired" in reason for reason in reasons)


async def test_tokens_never_reach_the_log(
    issuer: TestIssuer, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    valid, expired = issuer.mint(), issuer.mint(exp=int(time.time()) - 600)
    forged = issuer.mint(iss="https://evil.example")

    for token in (valid, expired, forged):
        await client.get("/me", headers={"Authorization": f"Bearer {token}"})

    assert caplog.records  # the refusals were logged...
    for record in caplog.records:  # ...without the token or any of its signed parts
        logged = " ".join(str(value) for value in vars(record).values())
        for token in (valid, expired, forged):
            assert token not in logged
            assert token.split(".")[2] not in logged


async def test_readiness_reports_whether_keys_are_available(
    issuer: TestIssuer, app: FastAPI
) -> None:
    report = await keys_check(app)
    assert report.ready
    assert report.parts == {issuer.issuer: "ok"}
    assert issuer.fetch_count == 1  # loaded at start-up, before any request


async def test_readiness_fails_and_requests_are_refused_without_keys(
    issuer: TestIssuer, make_settings: Callable[..., VerifierSettings]
) -> None:
    issuer.failing = True
    app = build_app(make_settings(issuer))
    async with LifespanManager(app):  # starting does not wait for, or fail on, the issuer
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/me", headers={"Authorization": f"Bearer {issuer.mint()}"})

        assert response.status_code == 401
        report = await keys_check(app)
        assert not report.ready
        assert report.parts == {issuer.issuer: "keys unavailable"}

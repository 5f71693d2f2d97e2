"""POST /api/auth/login, and the tokens it issues."""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from httpx import AsyncClient
from passlib.context import CryptContext
from sqlalchemy.ext.asyncio import AsyncEngine

Fixture = Callable[..., Any]

URL = "/api/auth/login"
PASSWORD = "correct horse battery"  # the signup/login fixtures' default
FAILED = {"detail": "invalid email or password"}


def verify_with_jwks(token: str, jwks: dict[str, Any], settings: Any) -> dict[str, Any]:
    key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(token)["kid"]]
    claims: dict[str, Any] = jwt.decode(
        token,
        key,
        algorithms=["EdDSA"],
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
    )
    return claims


async def test_login_issues_a_verifiable_eddsa_token(service: Any, signup: Fixture) -> None:
    client = service.client
    user = await signup(client, "Ada@Example.com")

    before = int(time.time())
    response = await client.post(URL, json={"email": "ADA@example.com ", "password": PASSWORD})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "refresh_expires_in",
    }
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    token = body["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA"
    jwks = (await client.get("/api/auth/jwks")).json()
    assert header["kid"] in {key["kid"] for key in jwks["keys"]}
    claims = verify_with_jwks(token, jwks, service.settings)
    assert claims["sub"] == user["id"]
    assert claims["email"] == "ada@example.com"
    assert claims["iss"] == service.settings.jwt_issuer
    assert claims["aud"] == service.settings.jwt_audience
    assert before <= claims["iat"] <= int(time.time())
    assert claims["exp"] == claims["iat"] + 900


async def test_token_lifetime_and_claims_follow_settings(
    start_service: Fixture, signup: Fixture
) -> None:
    async with start_service(
        access_token_ttl_seconds=120, jwt_issuer="https://id.example", jwt_audience="todo"
    ) as service:
        await signup(service.client, "ttl@example.com")
        response = await service.client.post(
            URL, json={"email": "ttl@example.com", "password": PASSWORD}
        )
        jwks = (await service.client.get("/.well-known/jwks.json")).json()

    assert response.json()["expires_in"] == 120
    claims = verify_with_jwks(response.json()["access_token"], jwks, service.settings)
    assert (claims["iss"], claims["aud"]) == ("https://id.example", "todo")
    assert claims["exp"] - claims["iat"] == 120


async def test_unknown_email_and_wrong_password_look_the_same(
    client: AsyncClient, signup: Fixture
) -> None:
    await signup(client, "known@example.com")

    unknown = await client.post(URL, json={"email": "nobody@example.com", "password": PASSWORD})
    wrong = await client.post(URL, json={"email": "known@example.com", "password": "wrong pass"})

    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json() == FAILED
    same_headers = ("content-type", "content-length", "www-authenticate")
    assert [unknown.headers.get(h) for h in same_headers] == [
        wrong.headers.get(h) for h in same_headers
    ]


@pytest.mark.parametrize(
    "password", ["x", "p" * 73, "é" * 40, "pass\x00word", PASSWORD.upper()], ids=repr
)
async def test_passwords_that_cannot_match_are_401(
    client: AsyncClient, signup: Fixture, password: str
) -> None:
    await signup(client, "pw@example.com")

    response = await client.post(URL, json={"email": "pw@example.com", "password": password})

    assert response.status_code == 401
    assert response.json() == FAILED
    assert password not in response.text


async def test_a_lone_surrogate_password_is_401_for_known_and_unknown_emails(
    client: AsyncClient, signup: Fixture
) -> None:
    """JSON may carry `\\ud800`, which no UTF-8 encoder takes: it must not be a 500 (an oracle
    telling existing accounts apart) but the one login failure."""
    await signup(client, "known@example.com")

    def body(email: str) -> dict[str, Any]:
        raw = json.dumps({"email": email, "password": "x\ud800"}).encode()
        return {"content": raw, "headers": {"Content-Type": "application/json"}}

    known = await client.post(URL, **body("known@example.com"))
    unknown = await client.post(URL, **body("nobody@example.com"))

    assert (
        (known.status_code, known.json())
        == (unknown.status_code, unknown.json())
        == (
            401,
            FAILED,
        )
    )


@pytest.mark.parametrize(
    "body",
    [{"email": "pw@example.com"}, {"password": PASSWORD}, {"email": "nope", "password": PASSWORD}],
)
async def test_malformed_login_is_400(client: AsyncClient, body: dict[str, str]) -> None:
    response = await client.post(URL, json=body)

    assert response.status_code == 400
    assert response.json()["detail"]


async def test_login_timing_does_not_reveal_whether_the_email_exists(
    start_service: Fixture, signup: Fixture
) -> None:
    """At the production cost (12), so bcrypt dominates; medians of alternating tries."""
    async with start_service(bcrypt_rounds=12) as service:
        client = service.client
        await signup(client, "timing@example.com")
        unknown: list[float] = []
        wrong: list[float] = []
        for _ in range(5):
            for samples, email in ((unknown, "ghost@example.com"), (wrong, "timing@example.com")):
                started = time.perf_counter()
                response = await client.post(URL, json={"email": email, "password": "bad guess"})
                samples.append(time.perf_counter() - started)
                assert response.status_code == 401

    slow, fast = sorted([statistics.median(unknown), statistics.median(wrong)], reverse=True)
    assert slow / fast < 2, (unknown, wrong)


async def test_hash_from_a_lower_cost_is_upgraded_on_login(
    start_service: Fixture, engine: AsyncEngine, scalar: Fixture, signup: Fixture, login: Fixture
) -> None:
    """End to end at the production cost: the stored hash moves from rounds 4 to 12."""
    async with start_service(bcrypt_rounds=12) as service:
        await signup(service.client, "old@example.com")
        old_hash = CryptContext(schemes=["bcrypt"], bcrypt__rounds=4).hash(PASSWORD)
        async with engine.begin() as conn:
            await conn.exec_driver_sql(
                "UPDATE users SET password_hash = $1 WHERE email = 'old@example.com'", (old_hash,)
            )

        await login(service.client, "old@example.com")

        new_hash = await scalar(engine, "SELECT password_hash FROM users")
        assert new_hash.startswith("$2b$12$")
        assert CryptContext(schemes=["bcrypt"]).verify(PASSWORD, new_hash)
        await login(service.client, "old@example.com")  # and the new hash works
        assert await scalar(engine, "SELECT password_hash FROM users") == new_hash


async def test_hash_password_and_token_never_reach_a_response_or_a_log(
    client: AsyncClient,
    engine: AsyncEngine,
    scalar: Fixture,
    user_count: Fixture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    signup_response = await client.post(
        "/api/auth/signup", json={"email": "secret@example.com", "password": PASSWORD}
    )
    login_response = await client.post(
        URL, json={"email": "secret@example.com", "password": PASSWORD}
    )
    failed = await client.post(URL, json={"email": "secret@example.com", "password": "guess1234"})
    invalid = await client.post(
        "/api/auth/signup", json={"email": "secret@example.com", "password": "p" * 80}
    )

    stored_hash = await scalar(engine, "SELECT password_hash FROM users")
    token = login_response.json()["access_token"]
    responses = signup_response.text + login_response.text + failed.text + invalid.text
    logged = "\n".join(f"{record.getMessage()} {vars(record)}" for record in caplog.records)
    assert any(r.name == "todo.access" for r in caplog.records)  # the logs were captured
    for secret in (stored_hash, PASSWORD, "guess1234", "p" * 80):
        assert secret not in responses
        assert secret not in logged
    assert token not in logged
    assert await user_count() == 1

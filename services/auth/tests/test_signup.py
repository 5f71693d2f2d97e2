"""POST /api/auth/signup."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

Fixture = Callable[..., Any]

URL = "/api/auth/signup"
PASSWORD = "correct horse battery"


async def test_signup_creates_user(
    client: AsyncClient, engine: AsyncEngine, scalar: Fixture
) -> None:
    response = await client.post(URL, json={"email": "ada@example.com", "password": PASSWORD})

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "email", "created_at"}
    assert body["email"] == "ada@example.com"
    created = datetime.fromisoformat(body["created_at"])
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=1)
    stored = await scalar(
        engine, "SELECT email FROM users WHERE id = :id", id=uuid.UUID(body["id"])
    )
    assert stored == "ada@example.com"


async def test_email_is_normalised(
    client: AsyncClient, engine: AsyncEngine, scalar: Fixture, signup: Fixture
) -> None:
    body = await signup(client, "  Grace.Hopper@Example.COM ")

    assert body["email"] == "grace.hopper@example.com"
    assert await scalar(engine, "SELECT email FROM users") == "grace.hopper@example.com"


CONFUSABLES = {
    "fullwidth": "\uff44up@example.com",
    "fullwidth domain": "dup@\uff45xample.com",
    "modifier letter": "\u1d48up@example.com",
    "NBSP around": "\u00a0dup@example.com\u00a0",
    "upper case": "DUP@EXAMPLE.COM",
}


@pytest.mark.parametrize("variant", CONFUSABLES.values(), ids=CONFUSABLES.keys())
async def test_confusable_spellings_are_one_account_at_signup_and_login(
    client: AsyncClient, signup: Fixture, login: Fixture, user_count: Fixture, variant: str
) -> None:
    user = await signup(client, "dup@example.com")

    again = await client.post(URL, json={"email": variant, "password": "another password"})
    token = await login(client, variant)

    assert again.status_code == 409
    assert await user_count() == 1
    assert jwt.decode(token, options={"verify_signature": False})["sub"] == user["id"]


async def test_a_confusable_first_spelling_is_stored_canonical(
    client: AsyncClient, engine: AsyncEngine, scalar: Fixture, signup: Fixture
) -> None:
    body = await signup(client, "\uff21da@\u212aitchen.example")  # fullwidth A, Kelvin K

    assert body["email"] == "ada@kitchen.example"
    assert await scalar(engine, "SELECT email FROM users") == "ada@kitchen.example"


@pytest.mark.parametrize(
    "email",
    [
        "a" * 65 + "@example.com",
        "\u00e9" * 33 + "@example.com",  # 33 characters, 66 bytes
        "a@" + ".".join(["d" * 63] * 4) + ".com",
        "a" * 64 + "@" + ".".join(["d" * 60] * 3) + ".example",
    ],
    ids=["local part of 65", "local part of 66 bytes", "domain over 255", "address over 254"],
)
async def test_rfc5321_length_limits_are_400(
    client: AsyncClient, user_count: Fixture, email: str
) -> None:
    response = await client.post(URL, json={"email": email, "password": PASSWORD})

    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == ["body", "email"]
    assert await user_count() == 0


async def test_a_local_part_of_64_is_accepted(client: AsyncClient, signup: Fixture) -> None:
    await signup(client, "a" * 64 + "@example.com")


@pytest.mark.parametrize("variant", ["dup@example.com", "DUP@EXAMPLE.COM", " Dup@Example.com"])
async def test_duplicate_email_in_any_case_is_409(
    client: AsyncClient, signup: Fixture, user_count: Fixture, variant: str
) -> None:
    await signup(client, "dup@example.com")

    response = await client.post(URL, json={"email": variant, "password": "another password"})

    assert response.status_code == 409
    assert response.json() == {"detail": "email already registered"}
    assert await user_count() == 1


async def test_concurrent_duplicates_create_one_user(
    client: AsyncClient, user_count: Fixture
) -> None:
    emails = ["race@example.com", "RACE@example.com", "Race@Example.com", "race@EXAMPLE.com"]

    responses = await asyncio.gather(
        *(client.post(URL, json={"email": email, "password": PASSWORD}) for email in emails)
    )

    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    assert await user_count() == 1


async def test_unknown_fields_are_ignored(client: AsyncClient, user_count: Fixture) -> None:
    response = await client.post(
        URL, json={"email": "extra@example.com", "password": PASSWORD, "is_admin": True, "id": 7}
    )

    assert response.status_code == 201
    assert set(response.json()) == {"id", "email", "created_at"}
    assert response.json()["id"] != 7
    assert await user_count() == 1


async def test_password_of_72_multibyte_bytes_is_accepted(
    client: AsyncClient, signup: Fixture, login: Fixture
) -> None:
    password = "é" * 36  # 72 bytes in UTF-8, 36 characters
    assert len(password.encode()) == 72

    await signup(client, "edge@example.com", password)

    await login(client, "edge@example.com", password)
    # Not truncated: the same first 71 bytes plus something else is a different password.
    wrong = await client.post(
        "/api/auth/login", json={"email": "edge@example.com", "password": "é" * 35 + "e!"}
    )
    assert wrong.status_code == 401


BAD_BODIES = {
    "password of 73 bytes": {"email": "a@example.com", "password": "é" * 36 + "x"},
    "password of 73 ascii bytes": {"email": "a@example.com", "password": "p" * 73},
    "password of 7 chars": {"email": "a@example.com", "password": "short12"},
    "password with NUL": {"email": "a@example.com", "password": "pass\x00word123"},
    "password not a string": {"email": "a@example.com", "password": 12345678},
    "missing password": {"email": "a@example.com"},
    "missing email": {"password": PASSWORD},
    "email without at": {"email": "not-an-email", "password": PASSWORD},
    "email without domain": {"email": "a@", "password": PASSWORD},
    "email blank": {"email": "   ", "password": PASSWORD},
    "email not a string": {"email": ["a@example.com"], "password": PASSWORD},
    "body a list": [{"email": "a@example.com", "password": PASSWORD}],
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
async def test_bad_input_is_400_and_changes_nothing(
    client: AsyncClient, user_count: Fixture, body: object
) -> None:
    response = await client.post(URL, json=body)

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert isinstance(detail, list)
    assert detail
    assert all({"loc", "msg"} <= set(error) for error in detail)
    assert await user_count() == 0


async def test_a_lone_surrogate_password_is_400(client: AsyncClient, user_count: Fixture) -> None:
    raw = json.dumps({"email": "s@example.com", "password": "password\ud800"}).encode()

    response = await client.post(URL, content=raw, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == ["body", "password"]
    assert "UTF-8" in response.json()["detail"][0]["msg"]
    assert await user_count() == 0


@pytest.mark.parametrize("password", ["é" * 36 + "x", "tiny-pw", "p" * 200])
async def test_rejected_password_is_not_echoed(
    client: AsyncClient, user_count: Fixture, password: str
) -> None:
    response = await client.post(URL, json={"email": "echo@example.com", "password": password})

    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == ["body", "password"]
    assert password not in response.text
    assert await user_count() == 0


async def test_malformed_json_is_400(client: AsyncClient, user_count: Fixture) -> None:
    response = await client.post(
        URL,
        content=b'{"email": "a@example.com", "password": ',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["detail"]
    assert await user_count() == 0


async def test_response_never_holds_the_hash(
    client: AsyncClient, engine: AsyncEngine, scalar: Fixture
) -> None:
    response = await client.post(URL, json={"email": "h@example.com", "password": PASSWORD})

    stored_hash = await scalar(engine, "SELECT password_hash FROM users")
    assert stored_hash.startswith("$2b$")
    assert stored_hash not in response.text
    assert PASSWORD not in response.text


@pytest.mark.parametrize(
    ("password", "message"),
    [("tiny", "should be at least 8 characters"), ("p" * 73, "at most 72 bytes")],
    ids=["short", "long"],
)
async def test_a_refused_password_is_explained_in_characters_or_bytes(
    client: AsyncClient, user_count: Fixture, password: str, message: str
) -> None:
    """What the front end shows a person: no "items", no "Value error," prefix."""
    response = await client.post(URL, json={"email": "words@example.com", "password": password})

    assert response.status_code == 400
    (error,) = response.json()["detail"]
    assert message in error["msg"]
    assert "items" not in error["msg"]
    assert not error["msg"].startswith("Value error")
    assert await user_count() == 0

"""Refresh tokens with reuse detection, sessions, logout, password change, and the
revocations they publish for the verifiers."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from httpx import AsyncClient
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from todo_auth import sessions
from todo_auth.state import AuthState
from todo_shared.app import service_state
from todo_shared.revocation import revoked_key

Fixture = Callable[..., Any]

PASSWORD = "correct horse battery"
NEW_PASSWORD = "battery staple horse"


async def log_in(
    client: AsyncClient, email: str, *, agent: str = "test", password: str = PASSWORD
) -> dict[str, Any]:
    response = await client.post(
        "/api/auth/login",
        json={"email": email, "password": password},
        headers={"User-Agent": agent},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def sid_of(tokens: dict[str, Any]) -> str:
    sid: str = jwt.decode(tokens["access_token"], options={"verify_signature": False})["sid"]
    return sid


async def refresh(client: AsyncClient, token: str) -> Any:
    return await client.post("/api/auth/refresh", json={"refresh_token": token})


async def revoked_in_redis(redis_url: str, service: Any, sid: str) -> bool:
    redis = Redis.from_url(redis_url)
    try:
        return bool(await redis.exists(revoked_key(service.settings.jwt_issuer, sid)))
    finally:
        await redis.aclose()


async def test_login_starts_a_session_with_a_hashed_refresh_token(
    service: Any, signup: Fixture, engine: AsyncEngine, scalar: Fixture
) -> None:
    await signup(service.client, "ada@example.com")
    tokens = await log_in(service.client, "ada@example.com", agent="Firefox/1")

    assert tokens["refresh_expires_in"] == 30 * 86_400
    assert len(tokens["refresh_token"]) >= 43  # 256 bits of base64url
    digest = hashlib.sha256(tokens["refresh_token"].encode()).digest()
    assert (
        await scalar(engine, "SELECT count(*) FROM refresh_tokens WHERE token_hash = :h", h=digest)
        == 1
    )
    stored = await scalar(
        engine,
        "SELECT count(*) FROM refresh_tokens WHERE token_hash = :h",
        h=tokens["refresh_token"].encode(),
    )
    assert stored == 0  # never in clear
    assert (
        await scalar(engine, "SELECT user_agent FROM sessions WHERE id = :id", id=sid_of(tokens))
        == "Firefox/1"
    )


async def test_a_long_user_agent_is_cut_to_the_columns_length(
    service: Any, signup: Fixture, engine: AsyncEngine, scalar: Fixture
) -> None:
    await signup(service.client, "ada@example.com")
    tokens = await log_in(service.client, "ada@example.com", agent="A" * 600)
    stored = await scalar(
        engine, "SELECT user_agent FROM sessions WHERE id = :id", id=sid_of(tokens)
    )
    assert stored == "A" * 512


async def test_refresh_issues_new_tokens_of_the_same_session_and_spends_the_old(
    service: Any, signup: Fixture
) -> None:
    client = service.client
    await signup(client, "ada@example.com")
    first = await log_in(client, "ada@example.com")

    response = await refresh(client, first["refresh_token"])

    assert response.status_code == 200, response.text
    second = response.json()
    assert set(second) == set(first)
    assert second["refresh_token"] != first["refresh_token"]
    assert sid_of(second) == sid_of(first)
    assert (await client.get("/api/auth/sessions", headers=bearer(second))).status_code == 200
    assert (await refresh(client, second["refresh_token"])).status_code == 200


async def test_reusing_a_spent_refresh_token_ends_the_session(
    service: Any, signup: Fixture, redis_url: str
) -> None:
    client = service.client
    await signup(client, "ada@example.com")
    stolen = await log_in(client, "ada@example.com")
    other = await log_in(client, "ada@example.com")
    owner = (await refresh(client, stolen["refresh_token"])).json()

    reuse = await refresh(client, stolen["refresh_token"])

    assert reuse.status_code == 401
    assert reuse.json() == {"detail": "invalid refresh token"}
    # The owner's copy (the thief's, had they refreshed first) stops too, and its access token.
    assert (await refresh(client, owner["refresh_token"])).status_code == 401
    assert (await client.get("/api/auth/sessions", headers=bearer(owner))).status_code == 401
    assert await revoked_in_redis(redis_url, service, sid_of(owner))
    # Another session of the same user is untouched.
    assert (await client.get("/api/auth/sessions", headers=bearer(other))).status_code == 200


async def test_concurrent_refreshes_with_one_token_let_exactly_one_win_and_end_the_session(
    service: Any, signup: Fixture
) -> None:
    client = service.client
    await signup(client, "ada@example.com")
    tokens = await log_in(client, "ada@example.com")

    responses = await asyncio.gather(*(refresh(client, tokens["refresh_token"]) for _ in range(8)))

    assert sorted(response.status_code for response in responses) == [200] + [401] * 7
    (winner,) = [response.json() for response in responses if response.status_code == 200]
    # The losers were reuse: the winner's tokens are ended with the session.
    assert (await refresh(client, winner["refresh_token"])).status_code == 401


@pytest.mark.parametrize(
    "body",
    [{}, {"refresh_token": ""}, {"refresh_token": 5}, {"refresh_token": "x" * 300}],
)
async def test_refresh_refuses_malformed_bodies_and_spends_nothing(
    service: Any, signup: Fixture, body: dict[str, Any]
) -> None:
    await signup(service.client, "ada@example.com")
    tokens = await log_in(service.client, "ada@example.com")
    response = await service.client.post("/api/auth/refresh", json=body)
    assert response.status_code == 400
    assert (await refresh(service.client, tokens["refresh_token"])).status_code == 200


async def test_an_unknown_refresh_token_is_refused_and_ends_nothing(
    service: Any, signup: Fixture
) -> None:
    client = service.client
    await signup(client, "ada@example.com")
    tokens = await log_in(client, "ada@example.com")

    assert (await refresh(client, tokens["refresh_token"] + "x")).status_code == 401
    assert (await refresh(client, tokens["refresh_token"])).status_code == 200


async def test_refresh_is_rate_limited_per_client_address(
    start_service: Fixture, signup: Fixture
) -> None:
    async with start_service(login_ip_limit=2) as service:
        for _ in range(2):
            assert (await refresh(service.client, "nothing")).status_code == 401
        response = await refresh(service.client, "nothing")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0


async def test_sessions_list_the_callers_live_sessions(service: Any, signup: Fixture) -> None:
    client = service.client
    await signup(client, "ada@example.com")
    await signup(client, "bob@example.com")
    phone = await log_in(client, "ada@example.com", agent="Phone/2")
    laptop = await log_in(client, "ada@example.com", agent="Laptop/3")
    await log_in(client, "bob@example.com")

    response = await client.get("/api/auth/sessions", headers=bearer(laptop))

    assert response.status_code == 200
    listed = response.json()
    assert {item["id"]: (item["user_agent"], item["current"]) for item in listed} == {
        sid_of(phone): ("Phone/2", False),
        sid_of(laptop): ("Laptop/3", True),
    }
    assert set(listed[0]) == {"id", "created_at", "last_used_at", "user_agent", "current"}


@pytest.mark.parametrize("path", ["/api/auth/sessions"])
async def test_session_endpoints_need_a_live_token(service: Any, path: str) -> None:
    assert (await service.client.get(path)).status_code == 401
    response = await service.client.get(path, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_ending_one_session_revokes_it_and_only_it(
    service: Any, signup: Fixture, redis_url: str
) -> None:
    client = service.client
    await signup(client, "ada@example.com")
    await signup(client, "bob@example.com")
    phone = await log_in(client, "ada@example.com")
    laptop = await log_in(client, "ada@example.com")
    bob = await log_in(client, "bob@example.com")

    # Another user's session is not found (and not ended).
    not_mine = await client.delete(f"/api/auth/sessions/{sid_of(bob)}", headers=bearer(phone))
    assert not_mine.status_code == 404
    assert (await client.get("/api/auth/sessions", headers=bearer(bob))).status_code == 200

    response = await client.delete(f"/api/auth/sessions/{sid_of(phone)}", headers=bearer(laptop))

    assert response.status_code == 204
    assert (await client.get("/api/auth/sessions", headers=bearer(phone))).status_code == 401
    assert (await refresh(client, phone["refresh_token"])).status_code == 401
    assert await revoked_in_redis(redis_url, service, sid_of(phone))
    listed = (await client.get("/api/auth/sessions", headers=bearer(laptop))).json()
    assert [item["id"] for item in listed] == [sid_of(laptop)]
    again = await client.delete(f"/api/auth/sessions/{sid_of(phone)}", headers=bearer(laptop))
    assert again.status_code == 404
    too_long = await client.delete(f"/api/auth/sessions/{'s' * 65}", headers=bearer(laptop))
    assert too_long.status_code == 400


async def test_logout_ends_the_current_session(
    service: Any, signup: Fixture, redis_url: str
) -> None:
    client = service.client
    await signup(client, "ada@example.com")
    current = await log_in(client, "ada@example.com")
    other = await log_in(client, "ada@example.com")

    assert (await client.post("/api/auth/logout", headers=bearer(current))).status_code == 204

    assert (await client.post("/api/auth/logout", headers=bearer(current))).status_code == 401
    assert (await refresh(client, current["refresh_token"])).status_code == 401
    assert await revoked_in_redis(redis_url, service, sid_of(current))
    assert (await client.get("/api/auth/sessions", headers=bearer(other))).status_code == 200


async def test_logout_all_ends_every_session(service: Any, signup: Fixture, redis_url: str) -> None:
    client = service.client
    await signup(client, "ada@example.com")
    sessions_ = [await log_in(client, "ada@example.com") for _ in range(3)]

    assert (
        await client.post("/api/auth/logout-all", headers=bearer(sessions_[0]))
    ).status_code == 204

    for tokens in sessions_:
        assert (await client.get("/api/auth/sessions", headers=bearer(tokens))).status_code == 401
        assert (await refresh(client, tokens["refresh_token"])).status_code == 401
        assert await revoked_in_redis(redis_url, service, sid_of(tokens))


async def test_password_change_ends_every_other_session(
    service: Any, signup: Fixture, redis_url: str
) -> None:
    client = service.client
    await signup(client, "ada@example.com")
    current = await log_in(client, "ada@example.com")
    other = await log_in(client, "ada@example.com")

    response = await client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(current),
    )

    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get("/api/auth/sessions", headers=bearer(current))).status_code == 200
    assert (await client.get("/api/auth/sessions", headers=bearer(other))).status_code == 401
    assert await revoked_in_redis(redis_url, service, sid_of(other))
    assert not await revoked_in_redis(redis_url, service, sid_of(current))
    await log_in(client, "ada@example.com", password=NEW_PASSWORD)
    old = await client.post(
        "/api/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert old.status_code == 401


async def test_password_change_refuses_bad_input_and_changes_nothing(
    service: Any, signup: Fixture
) -> None:
    client = service.client
    await signup(client, "ada@example.com")
    current = await log_in(client, "ada@example.com")
    other = await log_in(client, "ada@example.com")

    for body in [
        {},
        {"current_password": PASSWORD, "new_password": "short"},
        {"new_password": NEW_PASSWORD},
    ]:
        response = await client.post("/api/auth/password", json=body, headers=bearer(current))
        assert response.status_code == 400, body
    unauthenticated = await client.post(
        "/api/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert unauthenticated.status_code == 401

    assert (await client.get("/api/auth/sessions", headers=bearer(other))).status_code == 200
    await log_in(client, "ada@example.com")


async def test_a_wrong_current_password_is_a_401_counted_as_a_failed_login(
    start_service: Fixture, signup: Fixture
) -> None:
    async with start_service(login_email_ip_limit=2) as service:
        client = service.client
        await signup(client, "ada@example.com")
        current = await log_in(client, "ada@example.com")
        wrong = {"current_password": "not the password", "new_password": NEW_PASSWORD}
        for _ in range(2):
            response = await client.post("/api/auth/password", json=wrong, headers=bearer(current))
            assert response.status_code == 401
            assert response.json() == {"detail": "wrong current password"}
        # The failures count toward the login limits: login and password change are refused.
        login = await client.post(
            "/api/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
        )
        assert login.status_code == 429
        right = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        assert (
            await client.post("/api/auth/password", json=right, headers=bearer(current))
        ).status_code == 429


async def test_a_session_ended_while_redis_is_down_is_published_once_it_answers(
    start_service: Fixture, signup: Fixture, closed_port: int, redis_url: str
) -> None:
    """Logout goes on without Redis (the database is the truth); the end is kept and published
    by the retry loop of any replica once Redis answers."""
    async with start_service(redis_url=f"redis://127.0.0.1:{closed_port}") as down:
        await signup(down.client, "ada@example.com")
        tokens = await log_in(down.client, "ada@example.com")
        assert (
            await down.client.post("/api/auth/logout", headers=bearer(tokens))
        ).status_code == 204
        assert (await refresh(down.client, tokens["refresh_token"])).status_code == 401

    async with start_service() as up:
        assert not await revoked_in_redis(redis_url, up, sid_of(tokens))
        await sessions.republish_pending(service_state(up.app, AuthState))
        assert await revoked_in_redis(redis_url, up, sid_of(tokens))


async def test_pruning_deletes_what_can_no_longer_be_used_and_keeps_the_rest(
    service: Any, signup: Fixture, engine: AsyncEngine, scalar: Fixture
) -> None:
    client = service.client
    await signup(client, "ada@example.com")
    live = await log_in(client, "ada@example.com")
    ended_long_ago = await log_in(client, "ada@example.com")
    idle = await log_in(client, "ada@example.com")
    assert (
        await client.post("/api/auth/logout", headers=bearer(ended_long_ago))
    ).status_code == 204
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE sessions SET ended_at = now() - interval '1 day' WHERE id = :id"),
            {"id": sid_of(ended_long_ago)},
        )
        await conn.execute(
            text("UPDATE sessions SET last_used_at = now() - interval '31 days' WHERE id = :id"),
            {"id": sid_of(idle)},
        )
        await conn.execute(
            text(
                "UPDATE refresh_tokens SET expires_at = now() - interval '1 day' "
                "WHERE session_id = :id"
            ),
            {"id": sid_of(idle)},
        )

    pruned = await sessions.prune(service_state(service.app, AuthState))

    assert pruned == 2
    remaining = await scalar(engine, "SELECT string_agg(id, ',') FROM sessions")
    assert remaining == sid_of(live)
    assert await scalar(engine, "SELECT count(*) FROM refresh_tokens") == 1
    assert (await refresh(client, live["refresh_token"])).status_code == 200

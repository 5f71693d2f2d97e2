"""Rate limits on signup and login: per client IP and per email, 429 with Retry-After."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from httpx import AsyncClient, Response

Fixture = Callable[..., Any]

SIGNUP, LOGIN = "/api/auth/signup", "/api/auth/login"
PASSWORD = "correct horse battery"  # the signup/login fixtures' default


async def post(
    client: AsyncClient, url: str, email: str, *, ip: str | None = None, password: str = PASSWORD
) -> Response:
    headers = {"X-Forwarded-For": ip} if ip else {}
    return await client.post(url, json={"email": email, "password": password}, headers=headers)


def assert_limited(response: Response, window: int) -> None:
    assert response.status_code == 429
    assert response.json() == {"detail": "too many requests"}
    assert 1 <= int(response.headers["retry-after"]) <= window


async def test_signups_per_ip(start_service: Fixture, user_count: Fixture) -> None:
    async with start_service(signup_ip_limit=2, signup_ip_window_seconds=60) as service:
        client = service.client
        statuses = [
            (await post(client, SIGNUP, f"u{i}@example.com", ip="203.0.113.1")).status_code
            for i in range(2)
        ]
        limited = await post(client, SIGNUP, "u2@example.com", ip="203.0.113.1")
        elsewhere = await post(client, SIGNUP, "u3@example.com", ip="203.0.113.2")

    assert statuses == [201, 201]
    assert_limited(limited, 60)
    assert elsewhere.status_code == 201
    assert await user_count() == 3  # the refused signup wrote nothing


async def test_signups_per_email(start_service: Fixture) -> None:
    async with start_service(signup_email_limit=2, signup_email_window_seconds=300) as service:
        client = service.client
        first = await post(client, SIGNUP, "same@example.com", ip="203.0.113.1")
        second = await post(client, SIGNUP, "same@example.com", ip="203.0.113.2")
        third = await post(client, SIGNUP, "SAME@example.com", ip="203.0.113.3")

    assert [first.status_code, second.status_code] == [201, 409]
    assert_limited(third, 300)


async def test_logins_per_email_across_addresses(start_service: Fixture, signup: Fixture) -> None:
    async with start_service(login_email_limit=3, login_email_window_seconds=300) as service:
        client = service.client
        await signup(client, "target@example.com")
        guesses = [
            (
                await post(
                    client, LOGIN, "target@example.com", ip=f"198.51.100.{i}", password="guess-pw"
                )
            ).status_code
            for i in range(3)
        ]
        correct_but_limited = await post(client, LOGIN, "target@example.com", ip="198.51.100.9")
        other = await post(client, LOGIN, "someone@example.com", ip="198.51.100.9")

    assert guesses == [401, 401, 401]
    assert_limited(correct_but_limited, 300)
    assert other.status_code == 401


async def test_failures_from_one_address_do_not_lock_the_owner_out(
    start_service: Fixture, signup: Fixture
) -> None:
    limits = {"login_email_ip_limit": 3, "login_email_limit": 100}
    async with start_service(**limits, login_email_ip_window_seconds=300) as service:
        client = service.client
        await signup(client, "owner@example.com")
        attacker = "198.51.100.66"
        guesses = [
            (
                await post(client, LOGIN, "owner@example.com", ip=attacker, password="guess")
            ).status_code
            for _ in range(3)
        ]
        attacker_again = await post(client, LOGIN, "owner@example.com", ip=attacker)
        owner = await post(client, LOGIN, "owner@example.com", ip="203.0.113.20")
        attacker_elsewhere = await post(client, LOGIN, "other@example.com", ip=attacker)

    assert guesses == [401, 401, 401]
    assert_limited(attacker_again, 300)  # even with the right password
    assert owner.status_code == 200
    assert attacker_elsewhere.status_code == 401


async def test_successful_logins_do_not_count_against_the_email(
    start_service: Fixture, signup: Fixture
) -> None:
    async with start_service(login_email_limit=2, login_email_ip_limit=2) as service:
        await signup(service.client, "often@example.com")
        statuses = [
            (await post(service.client, LOGIN, "often@example.com", ip="203.0.113.30")).status_code
            for _ in range(5)
        ]

    assert statuses == [200] * 5


async def test_confusable_spellings_share_one_email_limit(
    start_service: Fixture, signup: Fixture
) -> None:
    async with start_service(login_email_limit=2) as service:
        client = service.client
        await signup(client, "kim@example.com")
        spellings = ["KIM@example.com", "\uff4bim@example.com"]  # upper case, fullwidth k
        guesses = [
            (await post(client, LOGIN, email, ip="198.51.100.1", password="guess")).status_code
            for email in spellings
        ]
        limited = await post(client, LOGIN, "kim@example.com", ip="198.51.100.2")

    assert guesses == [401, 401]
    assert_limited(limited, 300)


async def test_logins_per_ip(start_service: Fixture, signup: Fixture) -> None:
    async with start_service(login_ip_limit=2, login_ip_window_seconds=60) as service:
        client = service.client
        await signup(client, "a@example.com")
        first = await post(client, LOGIN, "a@example.com", ip="203.0.113.5")
        second = await post(client, LOGIN, "b@example.com", ip="203.0.113.5")
        third = await post(client, LOGIN, "a@example.com", ip="203.0.113.5")
        other_ip = await post(client, LOGIN, "a@example.com", ip="203.0.113.6")

    assert [first.status_code, second.status_code] == [200, 401]
    assert_limited(third, 60)
    assert other_ip.status_code == 200


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(
    start_service: Fixture,
) -> None:
    async with start_service(peer=("198.51.100.77", 5555), signup_ip_limit=1) as service:
        first = await post(service.client, SIGNUP, "x1@example.com", ip="203.0.113.10")
        second = await post(service.client, SIGNUP, "x2@example.com", ip="203.0.113.11")

    assert first.status_code == 201
    assert_limited(second, 60)


async def test_limit_resets_with_the_window(start_service: Fixture) -> None:
    async with start_service(signup_ip_limit=1, signup_ip_window_seconds=1) as service:
        client = service.client
        # Start at the beginning of a window so both tries fall in the same one.
        await asyncio.sleep(1 - time.time() % 1)
        first = await post(client, SIGNUP, "w1@example.com")
        second = await post(client, SIGNUP, "w2@example.com")
        await asyncio.sleep(int(second.headers["retry-after"]))
        third = await post(client, SIGNUP, "w2@example.com")

    assert first.status_code == 201
    assert_limited(second, 1)
    assert third.status_code == 201


async def test_redis_down_lets_requests_through_with_one_warning(
    start_service: Fixture,
    caplog: pytest.LogCaptureFixture,
    user_count: Fixture,
    closed_port: int,
) -> None:
    down = f"redis://127.0.0.1:{closed_port}/0"
    async with start_service(redis_url=down, signup_ip_limit=1, login_ip_limit=1) as service:
        logging.getLogger().addHandler(caplog.handler)  # the app's start replaced the handlers
        client = service.client
        signups = [(await post(client, SIGNUP, f"r{i}@example.com")).status_code for i in range(2)]
        logins = [(await post(client, LOGIN, "r0@example.com")).status_code for _ in range(2)]

    assert signups == [201, 201]
    assert logins == [200, 200]
    # One line when the outage starts, not one per request.
    warnings = [r for r in caplog.records if r.name == "todo.auth.rate_limit"]
    assert [r.getMessage() for r in warnings] == [
        "rate limiter unavailable, requests allowed until Redis answers"
    ]
    assert warnings[0].levelno == logging.WARNING
    assert await user_count() == 2

"""The auth service's own metrics: bcrypt work queued and running, and rate-limit refusals.

The samples are in prometheus-client's default registry, shared with other tests: each test
compares the values before and after what it does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from prometheus_client import REGISTRY

from todo_auth.passwords import PasswordHasher

Fixture = Callable[..., Any]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def eventually(check: Callable[[], bool]) -> None:
    """Poll a gauge the bcrypt threads set (no event to wait on: they set it themselves)."""
    async with asyncio.timeout(10):
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


async def test_bcrypt_work_is_shown_queued_then_running_and_a_cancelled_hash_leaves_the_queue() -> (
    None
):
    hasher = PasswordHasher(rounds=12, max_concurrency=1)
    try:
        queued, running = sample("todo_auth_bcrypt_queued"), sample("todo_auth_bcrypt_running")
        hashes = [asyncio.create_task(hasher.hash(f"password {i}")) for i in range(3)]
        await eventually(
            lambda: (
                sample("todo_auth_bcrypt_running") == running + 1
                and sample("todo_auth_bcrypt_queued") == queued + 2
            )
        )
        hashes[2].cancel()  # still queued behind the others
        await eventually(lambda: sample("todo_auth_bcrypt_queued") <= queued + 1)
        await asyncio.gather(*hashes[:2])
        with contextlib.suppress(asyncio.CancelledError):
            await hashes[2]

        assert sample("todo_auth_bcrypt_queued") == queued
        assert sample("todo_auth_bcrypt_running") == running
    finally:
        hasher.close()


async def test_refusals_are_counted_by_action_and_limit(start_service: Fixture) -> None:
    def refused(action: str, limit: str) -> float:
        return sample("todo_auth_rate_limited_total", action=action, limit=limit)

    before = refused("signup", "signup:ip")
    async with start_service(signup_ip_limit=1, signup_ip_window_seconds=60) as service:
        for email in ("a@example.com", "b@example.com", "c@example.com"):
            await service.client.post(
                "/api/auth/signup",
                json={"email": email, "password": "correct horse battery"},
                headers={"X-Forwarded-For": "203.0.113.9"},
            )

    assert refused("signup", "signup:ip") == before + 2

"""PATCH /api/{user_id}/tasks/{task_id}/complete: sets the flag, or toggles it without one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

Snapshot = Callable[[], Awaitable[list[Any]]]


@pytest.fixture
async def task(as_alice: httpx.AsyncClient, alice: str) -> dict[str, Any]:
    created: dict[str, Any] = (
        await as_alice.post(f"/api/{alice}/tasks", json={"title": "t", "description": "d"})
    ).json()
    return created


def at(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


def url(task: dict[str, Any]) -> str:
    return f"/api/{task['user_id']}/tasks/{task['id']}/complete"


@pytest.mark.parametrize(
    "request_body",
    [
        {},
        {"content": b"", "headers": {"Content-Type": "application/json"}},
        {"json": {}},
        {"json": {"title": "ignored"}},
        {"content": b"null", "headers": {"Content-Type": "application/json"}},
    ],
    ids=["no body", "empty body", "empty object", "object without completed", "JSON null"],
)
async def test_without_completed_it_toggles(
    as_alice: httpx.AsyncClient, task: dict[str, Any], request_body: dict[str, Any]
) -> None:
    first = await as_alice.patch(url(task), **request_body)
    assert first.status_code == 200
    assert first.json()["completed"] is True
    assert at(first.json()["updated_at"]) > at(task["updated_at"])
    assert first.json()["title"] == "t"
    second = await as_alice.patch(url(task), **request_body)
    assert second.json()["completed"] is False


@pytest.mark.parametrize("value", [True, False])
async def test_completed_sets_the_flag(
    as_alice: httpx.AsyncClient, task: dict[str, Any], value: bool
) -> None:
    for _ in range(2):
        response = await as_alice.patch(url(task), json={"completed": value})
        assert response.status_code == 200
        assert response.json()["completed"] is value
    stored = await as_alice.get(url(task).removesuffix("/complete"))
    assert stored.json()["completed"] is value
    assert stored.json()["description"] == "d"


@pytest.mark.parametrize(
    "body",
    [
        b'{"completed": "yes"}',
        b'{"completed": "true"}',
        b'{"completed": 1}',
        b'{"completed": null}',
    ],
)
async def test_a_bad_completed_value_is_400_and_changes_nothing(
    as_alice: httpx.AsyncClient, task: dict[str, Any], snapshot: Snapshot, body: bytes
) -> None:
    before = await snapshot()
    headers = {"Content-Type": "application/json"}
    response = await as_alice.patch(url(task), content=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == ["body", "completed"]
    assert await snapshot() == before


@pytest.mark.parametrize("body", [b"{", b"[true]", b"true"])
async def test_a_body_that_is_not_an_object_is_400(
    as_alice: httpx.AsyncClient, task: dict[str, Any], snapshot: Snapshot, body: bytes
) -> None:
    before = await snapshot()
    headers = {"Content-Type": "application/json"}
    response = await as_alice.patch(url(task), content=body, headers=headers)
    assert response.status_code == 400
    assert await snapshot() == before

"""PUT (full replace) and PATCH (any subset) of /api/{user_id}/tasks/{task_id}."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

Snapshot = Callable[[], Awaitable[list[Any]]]

BAD_BODIES: dict[str, tuple[bytes | dict[str, Any], str]] = {
    "blank title": ({"title": "   "}, "title"),
    "title too long": ({"title": "x" * 256}, "title"),
    "numeric title": ({"title": 1}, "title"),
    "null title": ({"title": None}, "title"),
    "completed as string": ({"title": "t", "completed": "false"}, "completed"),
    "completed null": ({"title": "t", "completed": None}, "completed"),
    "description too long": ({"title": "t", "description": "d" * 10_001}, "description"),
    "description with NUL": ({"title": "t", "description": "a\u0000"}, "description"),
    "malformed JSON": (b"{", ""),
    "not an object": (b"[1]", ""),
}


@pytest.fixture
async def task(as_alice: httpx.AsyncClient, alice: str) -> dict[str, Any]:
    response = await as_alice.post(
        f"/api/{alice}/tasks", json={"title": "old", "description": "old d", "completed": True}
    )
    created: dict[str, Any] = response.json()
    return created


def at(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


def url(task: dict[str, Any]) -> str:
    return f"/api/{task['user_id']}/tasks/{task['id']}"


async def send(
    client: httpx.AsyncClient, method: str, url: str, body: bytes | dict[str, Any]
) -> httpx.Response:
    if isinstance(body, bytes):
        headers = {"Content-Type": "application/json"}
        return await client.request(method, url, content=body, headers=headers)
    return await client.request(method, url, json=body)


async def test_put_replaces_every_field(as_alice: httpx.AsyncClient, task: dict[str, Any]) -> None:
    body = {"title": "new", "description": "new d", "completed": False}
    response = await as_alice.put(url(task), json=body)
    assert response.status_code == 200
    updated = response.json()
    assert {key: updated[key] for key in body} == body
    assert (updated["id"], updated["user_id"]) == (task["id"], task["user_id"])
    assert updated["created_at"] == task["created_at"]
    assert at(updated["updated_at"]) > at(task["updated_at"])
    assert (await as_alice.get(url(task))).json() == updated


async def test_put_resets_omitted_fields(as_alice: httpx.AsyncClient, task: dict[str, Any]) -> None:
    """Full replace: no description means null, no `completed` means false."""
    updated = (await as_alice.put(url(task), json={"title": "only"})).json()
    assert (updated["title"], updated["description"], updated["completed"]) == ("only", None, False)


async def test_put_with_null_description_clears_it(
    as_alice: httpx.AsyncClient, task: dict[str, Any]
) -> None:
    body = {"title": "t", "description": None, "completed": True}
    updated = (await as_alice.put(url(task), json=body)).json()
    assert updated["description"] is None
    assert (await as_alice.get(url(task))).json()["description"] is None


async def test_put_requires_a_title(
    as_alice: httpx.AsyncClient, task: dict[str, Any], snapshot: Snapshot
) -> None:
    before = await snapshot()
    response = await as_alice.put(url(task), json={"description": "d", "completed": False})
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == ["body", "title"]
    assert await snapshot() == before


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"title": "new"}, {"title": "new", "description": "old d", "completed": True}),
        ({"description": "nd"}, {"title": "old", "description": "nd", "completed": True}),
        ({"description": None}, {"title": "old", "description": None, "completed": True}),
        ({"completed": False}, {"title": "old", "description": "old d", "completed": False}),
        ({}, {"title": "old", "description": "old d", "completed": True}),
        (
            {"title": "n", "description": "", "completed": False},
            {"title": "n", "description": "", "completed": False},
        ),
    ],
)
async def test_patch_changes_only_what_is_sent(
    as_alice: httpx.AsyncClient,
    task: dict[str, Any],
    change: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    response = await as_alice.patch(url(task), json=change)
    assert response.status_code == 200
    updated = response.json()
    assert {key: updated[key] for key in expected} == expected
    assert updated["created_at"] == task["created_at"]
    assert at(updated["updated_at"]) > at(task["updated_at"])
    assert (await as_alice.get(url(task))).json() == updated


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
@pytest.mark.parametrize(("body", "field"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
async def test_bad_bodies_are_400_and_change_nothing(
    as_alice: httpx.AsyncClient,
    task: dict[str, Any],
    snapshot: Snapshot,
    method: str,
    body: bytes | dict[str, Any],
    field: str,
) -> None:
    before = await snapshot()
    response = await send(as_alice, method, url(task), body)
    assert response.status_code == 400
    location = ["body", field] if field else ["body"]
    assert any(error["loc"][: len(location)] == location for error in response.json()["detail"])
    assert await snapshot() == before


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_strings_are_stored_verbatim(
    as_alice: httpx.AsyncClient, task: dict[str, Any], method: str
) -> None:
    body = {"title": "'; DROP TABLE tasks;-- 🦆\u202e", "description": ' "q" \u200f '}
    updated = (await as_alice.request(method, url(task), json=body)).json()
    assert (updated["title"], updated["description"]) == (body["title"], body["description"])

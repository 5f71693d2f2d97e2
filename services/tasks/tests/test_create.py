"""POST /api/{user_id}/tasks: 201 with Location, strings stored verbatim, bad input refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

Snapshot = Callable[[], Awaitable[list[Any]]]

VERBATIM = {
    "quotes": "\"double\" and 'single' and `back`",
    "sql": "'; DROP TABLE tasks;--",
    "emoji": "🦆 ducks 👩‍👩‍👧‍👦",
    "rtl override": "abc\u202edcba\u200f",
    "padded": "  spaces around  ",
    "html": "<script>alert(1)</script>",
    "backslashes": "C:\\new\\table \\x00",
    "longest title": "🦆" * 255,
}

# Bodies refused with a 400 naming this field (an empty location means the body as a whole).
INVALID: dict[str, tuple[bytes | dict[str, Any] | list[Any], list[Any]]] = {
    "no title": ({"description": "d"}, ["body", "title"]),
    "empty title": ({"title": ""}, ["body", "title"]),
    "blank title": ({"title": " \t\n\u3000"}, ["body", "title"]),
    "title too long": ({"title": "x" * 256}, ["body", "title"]),
    "null title": ({"title": None}, ["body", "title"]),
    "numeric title": ({"title": 123}, ["body", "title"]),
    "list title": ({"title": ["a"]}, ["body", "title"]),
    "title with NUL": ({"title": "a\u0000b"}, ["body", "title"]),
    "description with NUL": ({"title": "t", "description": "\u0000"}, ["body", "description"]),
    "description too long": ({"title": "t", "description": "d" * 10_001}, ["body", "description"]),
    "numeric description": ({"title": "t", "description": 5}, ["body", "description"]),
    "completed as string": ({"title": "t", "completed": "true"}, ["body", "completed"]),
    "completed yes": ({"title": "t", "completed": "yes"}, ["body", "completed"]),
    "completed as number": ({"title": "t", "completed": 1}, ["body", "completed"]),
    "completed null": ({"title": "t", "completed": None}, ["body", "completed"]),
    "lone surrogate": (b'{"title": "a\\ud800b"}', ["body", "title"]),
    "malformed JSON": (b'{"title": "t",', ["body"]),
    # Found by schemathesis: FastAPI's own "error parsing the body" 400 had a string detail.
    "not UTF-8": (b'{"title": "\xff\xfe"}', ["body"]),
    "array": ([{"title": "t"}], ["body"]),
    "string": (b'"title"', ["body"]),
    "empty body": (b"", ["body"]),
}


async def test_create_returns_201_location_and_the_task(
    as_alice: httpx.AsyncClient, alice: str
) -> None:
    response = await as_alice.post(
        f"/api/{alice}/tasks", json={"title": "Buy milk", "description": "2 litres"}
    )
    assert response.status_code == 201
    task = response.json()
    assert response.headers["location"] == f"/api/{alice}/tasks/{task['id']}"
    assert task["user_id"] == alice
    assert (task["title"], task["description"], task["completed"]) == (
        "Buy milk",
        "2 litres",
        False,
    )
    assert isinstance(task["id"], int)
    assert task["id"] > 0
    assert task["created_at"] == task["updated_at"]
    assert datetime.fromisoformat(task["created_at"]).tzinfo is not None
    assert (await as_alice.get(response.headers["location"])).json() == task


async def test_optional_fields_default(as_alice: httpx.AsyncClient, alice: str) -> None:
    response = await as_alice.post(f"/api/{alice}/tasks", json={"title": "t"})
    assert (response.json()["description"], response.json()["completed"]) == (None, False)
    done = await as_alice.post(f"/api/{alice}/tasks", json={"title": "t", "completed": True})
    assert done.json()["completed"] is True


async def test_unknown_fields_are_ignored(as_alice: httpx.AsyncClient, alice: str) -> None:
    body = {"title": "t", "id": 2**62, "created_at": "2000-01-01T00:00:00Z", "colour": "red"}
    task = (await as_alice.post(f"/api/{alice}/tasks", json=body)).json()
    assert task["id"] != 2**62
    assert not task["created_at"].startswith("2000")
    assert "colour" not in task


@pytest.mark.parametrize("value", VERBATIM.values(), ids=VERBATIM.keys())
async def test_strings_are_stored_verbatim(
    as_alice: httpx.AsyncClient, alice: str, value: str
) -> None:
    description = value * 2
    created = await as_alice.post(
        f"/api/{alice}/tasks", json={"title": value, "description": description}
    )
    assert created.status_code == 201
    stored = (await as_alice.get(created.headers["location"])).json()
    assert (stored["title"], stored["description"]) == (value, description)
    listed = (await as_alice.get(f"/api/{alice}/tasks")).json()
    assert listed[0]["title"] == value


async def test_longest_description_is_accepted(as_alice: httpx.AsyncClient, alice: str) -> None:
    description = "é" * 10_000
    response = await as_alice.post(
        f"/api/{alice}/tasks", json={"title": "t", "description": description}
    )
    assert response.status_code == 201
    assert response.json()["description"] == description


@pytest.mark.parametrize(("body", "location"), INVALID.values(), ids=INVALID.keys())
async def test_invalid_bodies_are_400_and_change_nothing(
    as_alice: httpx.AsyncClient,
    alice: str,
    snapshot: Snapshot,
    body: bytes | dict[str, Any] | list[Any],
    location: list[Any],
) -> None:
    before = await snapshot()
    if isinstance(body, bytes):
        headers = {"Content-Type": "application/json"}
        response = await as_alice.post(f"/api/{alice}/tasks", content=body, headers=headers)
    else:
        response = await as_alice.post(f"/api/{alice}/tasks", json=body)
    assert response.status_code == 400
    errors = response.json()["detail"]
    assert any(error["loc"][: len(location)] == location for error in errors), errors
    assert await snapshot() == before


async def test_field_errors_do_not_echo_the_input(as_alice: httpx.AsyncClient, alice: str) -> None:
    response = await as_alice.post(f"/api/{alice}/tasks", json={"title": "s3cret" * 50})
    assert response.status_code == 400
    assert "s3cret" not in response.text


async def test_a_body_over_the_limit_is_413_and_changes_nothing(
    as_alice: httpx.AsyncClient, alice: str, snapshot: Snapshot
) -> None:
    before = await snapshot()
    body = b'{"title": "t", "description": "' + b"x" * (1024 * 1024) + b'"}'
    response = await as_alice.post(
        f"/api/{alice}/tasks", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "request body too large"}
    assert await snapshot() == before


async def test_a_blank_title_is_explained_without_the_validator_s_prefix(
    as_alice: httpx.AsyncClient, alice: str, snapshot: Callable[[], Awaitable[list[Any]]]
) -> None:
    before = await snapshot()
    response = await as_alice.post(f"/api/{alice}/tasks", json={"title": "   "})

    assert response.status_code == 400
    assert [error["msg"] for error in response.json()["detail"]] == ["must not be blank"]
    assert await snapshot() == before

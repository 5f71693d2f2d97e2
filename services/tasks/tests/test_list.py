"""GET /api/{user_id}/tasks: newest first, filter, paging and X-Total-Count."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.tasks import add_tasks
from todo_shared.app import service_state
from todo_tasks.state import TasksState


async def test_empty_list(as_alice: httpx.AsyncClient, alice: str) -> None:
    response = await as_alice.get(f"/api/{alice}/tasks")
    assert response.status_code == 200
    assert response.json() == []
    assert response.headers["x-total-count"] == "0"
    assert response.headers["content-type"] == "application/json"


async def test_newest_first_with_every_field(as_alice: httpx.AsyncClient, alice: str) -> None:
    created = []
    for title in ("first", "second", "third"):
        response = await as_alice.post(f"/api/{alice}/tasks", json={"title": title})
        created.append(response.json())
    response = await as_alice.get(f"/api/{alice}/tasks")
    assert response.json() == created[::-1]
    assert set(response.json()[0]) == {
        "id",
        "user_id",
        "title",
        "description",
        "completed",
        "created_at",
        "updated_at",
        "priority",
        "labels",
        "list_id",
        "position",
        "version",
    }


async def test_same_created_at_is_ordered_by_id_descending(
    engine: AsyncEngine, as_alice: httpx.AsyncClient, alice: str
) -> None:
    await add_tasks(engine, alice, 4, same_time=True)
    tasks = (await as_alice.get(f"/api/{alice}/tasks")).json()
    assert len({task["created_at"] for task in tasks}) == 1
    ids = [task["id"] for task in tasks]
    assert ids == sorted(ids, reverse=True)


async def test_filter_by_completed(
    engine: AsyncEngine, as_alice: httpx.AsyncClient, alice: str
) -> None:
    await add_tasks(engine, alice, 5)  # tasks 2 and 4 are completed
    done = await as_alice.get(f"/api/{alice}/tasks", params={"completed": "true"})
    assert [task["title"] for task in done.json()] == ["task 2", "task 4"]
    assert done.headers["x-total-count"] == "2"
    open_ = await as_alice.get(f"/api/{alice}/tasks", params={"completed": "false"})
    assert [task["title"] for task in open_.json()] == ["task 1", "task 3", "task 5"]
    assert open_.headers["x-total-count"] == "3"


async def test_paging_counts_the_whole_filtered_set(
    engine: AsyncEngine, as_alice: httpx.AsyncClient, alice: str
) -> None:
    await add_tasks(engine, alice, 5)
    pages = []
    for offset in (0, 2, 4):
        response = await as_alice.get(f"/api/{alice}/tasks?limit=2&offset={offset}")
        assert response.headers["x-total-count"] == "5"
        pages.append([task["title"] for task in response.json()])
    assert pages == [["task 1", "task 2"], ["task 3", "task 4"], ["task 5"]]
    filtered = await as_alice.get(f"/api/{alice}/tasks?completed=false&limit=1&offset=1")
    assert [task["title"] for task in filtered.json()] == ["task 3"]
    assert filtered.headers["x-total-count"] == "3"


@pytest.mark.parametrize("query", ["offset=5", "offset=1000", "completed=true&offset=2"])
async def test_a_page_past_the_end_still_counts(
    engine: AsyncEngine, as_alice: httpx.AsyncClient, alice: str, query: str
) -> None:
    await add_tasks(engine, alice, 5)
    response = await as_alice.get(f"/api/{alice}/tasks?{query}")
    assert response.status_code == 200
    assert response.json() == []
    expected = "2" if "completed" in query else "5"
    assert response.headers["x-total-count"] == expected


async def test_default_limit_is_100_and_500_is_allowed(
    engine: AsyncEngine, as_alice: httpx.AsyncClient, alice: str
) -> None:
    await add_tasks(engine, alice, 501)
    default = await as_alice.get(f"/api/{alice}/tasks")
    assert len(default.json()) == 100
    assert default.headers["x-total-count"] == "501"
    largest = await as_alice.get(f"/api/{alice}/tasks?limit=500")
    assert len(largest.json()) == 500


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("limit=1.5", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
        ("offset=99999999999999999999", "offset"),
        ("completed=maybe", "completed"),
        ("completed=", "completed"),
        ("limit=", "limit"),
    ],
)
async def test_bad_query_values_are_400_with_the_field(
    as_alice: httpx.AsyncClient, alice: str, query: str, field: str
) -> None:
    response = await as_alice.get(f"/api/{alice}/tasks?{query}")
    assert response.status_code == 400
    assert [error["loc"] for error in response.json()["detail"]] == [["query", field]]


async def test_limits_are_settings(
    engine: AsyncEngine,
    app: FastAPI,
    as_alice: httpx.AsyncClient,
    alice: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await add_tasks(engine, alice, 3)
    settings = service_state(app, TasksState).settings
    monkeypatch.setattr(settings, "list_limit_default", 2)
    monkeypatch.setattr(settings, "list_limit_max", 2)
    assert len((await as_alice.get(f"/api/{alice}/tasks")).json()) == 2
    assert (await as_alice.get(f"/api/{alice}/tasks?limit=3")).status_code == 400

"""Priority and labels: written by create, replace and patch, validated like every field,
filtered on (AND, labels ignoring case), counted exactly, paged by keyset."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

Snapshot = Callable[[], Awaitable[list[Any]]]


async def _create(client: httpx.AsyncClient, user: str, **fields: Any) -> dict[str, Any]:
    response = await client.post(f"/api/{user}/tasks", json=fields)
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


async def test_a_seed_client_gets_the_defaults(as_alice: httpx.AsyncClient, alice: str) -> None:
    task = await _create(as_alice, alice, title="Buy milk", description="2 litres")
    assert (task["priority"], task["labels"]) == (0, [])


async def test_fields_are_written_by_every_write_and_kept_in_order(
    as_alice: httpx.AsyncClient, alice: str
) -> None:
    task = await _create(as_alice, alice, title="t", priority=3, labels=["Home", "urgent", "café"])
    assert (task["priority"], task["labels"]) == (3, ["Home", "urgent", "café"])
    path = f"/api/{alice}/tasks/{task['id']}"
    patched = (await as_alice.patch(path, json={"labels": ["b", "A"]})).json()
    assert (patched["priority"], patched["labels"]) == (3, ["b", "A"])
    replaced = (await as_alice.put(path, json={"title": "t"})).json()
    assert (replaced["priority"], replaced["labels"]) == (0, [])  # PUT: the defaults
    read = (await as_alice.get(path)).json()
    assert read == replaced


BAD: dict[str, dict[str, Any]] = {
    "priority too high": {"priority": 4},
    "priority negative": {"priority": -1},
    "priority as string": {"priority": "3"},
    "priority as bool": {"priority": True},
    "priority null": {"priority": None},
    "labels null": {"labels": None},
    "label empty": {"labels": [""]},
    "label blank": {"labels": ["  "]},
    "label too long": {"labels": ["x" * 51]},
    "label not a string": {"labels": [1]},
    "label with NUL": {"labels": ["a\u0000"]},
    "labels repeated ignoring case": {"labels": ["Home", "HOME"]},
    "too many labels": {"labels": [f"l{n}" for n in range(21)]},
    "labels not a list": {"labels": "home"},
}


@pytest.mark.parametrize("body", BAD.values(), ids=BAD.keys())
async def test_bad_fields_are_a_400_naming_the_field_and_change_nothing(
    as_alice: httpx.AsyncClient, alice: str, snapshot: Snapshot, body: dict[str, Any]
) -> None:
    task = await _create(as_alice, alice, title="kept", priority=1, labels=["a"])
    field = next(iter(body))
    before = await snapshot()
    path = f"/api/{alice}/tasks/{task['id']}"
    for method, url, sent in (
        ("POST", f"/api/{alice}/tasks", {"title": "new", **body}),
        ("PUT", path, {"title": "new", **body}),
        ("PATCH", path, body),
    ):
        response = await as_alice.request(method, url, json=sent)
        assert response.status_code == 400, (method, response.text)
        assert [error["loc"][1] for error in response.json()["detail"]] == [field]
    assert await snapshot() == before


async def test_filters_combine_and_labels_match_ignoring_case(
    as_alice: httpx.AsyncClient, as_bob: httpx.AsyncClient, alice: str, bob: str
) -> None:
    await _create(as_alice, alice, title="plain")
    await _create(as_alice, alice, title="home", labels=["Home"])
    await _create(as_alice, alice, title="home urgent", priority=3, labels=["urgent", "HOME"])
    await _create(as_alice, alice, title="urgent", priority=3, labels=["Urgent"], completed=True)
    await _create(as_bob, bob, title="bob's home", labels=["home"])  # never in alice's lists

    async def titles(**params: Any) -> tuple[list[str], str]:
        response = await as_alice.get(f"/api/{alice}/tasks", params=params)
        assert response.status_code == 200, response.text
        return [task["title"] for task in response.json()], response.headers["x-total-count"]

    assert await titles(label="home") == (["home urgent", "home"], "2")
    assert await titles(label=["HOME", "urgent"]) == (["home urgent"], "1")
    assert await titles(priority=3) == (["urgent", "home urgent"], "2")
    assert await titles(priority=3, completed="false") == (["home urgent"], "1")
    assert await titles(priority=0) == (["home", "plain"], "2")
    assert await titles(label="nothing") == ([], "0")
    assert await titles(label="urgent", completed="true", priority=3) == (["urgent"], "1")


async def test_a_filtered_list_pages_by_cursor_with_an_exact_total(
    as_alice: httpx.AsyncClient, alice: str
) -> None:
    made = [
        (await _create(as_alice, alice, title=f"t{n}", labels=["x"] if n % 2 else []))["title"]
        for n in range(7)
    ]
    seen: list[str] = []
    params: dict[str, Any] = {"label": "x", "limit": 2}
    while True:
        response = await as_alice.get(f"/api/{alice}/tasks", params=params)
        assert response.headers["x-total-count"] == "3"
        seen += [task["title"] for task in response.json()]
        cursor = response.headers.get("x-next-cursor")
        if cursor is None:
            break
        params["cursor"] = cursor
    assert seen == [title for n, title in enumerate(made) if n % 2][::-1]


@pytest.mark.parametrize(
    "params",
    [{"priority": "4"}, {"priority": "high"}, {"label": ""}, {"label": "x" * 51}],
    ids=["priority too high", "priority not a number", "empty label", "label too long"],
)
async def test_bad_filters_are_a_400_naming_the_parameter(
    as_alice: httpx.AsyncClient, alice: str, params: dict[str, str]
) -> None:
    response = await as_alice.get(f"/api/{alice}/tasks", params=params)
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"][:2] == ["query", next(iter(params))]


async def _walk(client: httpx.AsyncClient, user: str, **params: Any) -> list[str]:
    """Every title of a list, a page of 2 at a time by cursor."""
    titles: list[str] = []
    query: dict[str, Any] = {"limit": 2, **params}
    while True:
        response = await client.get(f"/api/{user}/tasks", params=query)
        assert response.status_code == 200, response.text
        titles += [task["title"] for task in response.json()]
        cursor = response.headers.get("x-next-cursor")
        if cursor is None:
            return titles
        query["cursor"] = cursor


async def test_every_sort_pages_by_cursor_in_both_directions(
    as_alice: httpx.AsyncClient, alice: str
) -> None:
    for title, priority in (("a", 1), ("b", 3), ("c", 0), ("d", 3), ("e", 1)):
        await _create(as_alice, alice, title=title, priority=priority)
    tasks = (await as_alice.get(f"/api/{alice}/tasks")).json()
    ids = {task["title"]: task["id"] for task in tasks}
    await as_alice.patch(f"/api/{alice}/tasks/{ids['a']}", json={"description": "touched"})
    await as_alice.patch(f"/api/{alice}/tasks/{ids['c']}", json={"description": "touched"})

    assert await _walk(as_alice, alice) == ["e", "d", "c", "b", "a"]  # the seed's order
    assert await _walk(as_alice, alice, sort="created", order="asc") == ["a", "b", "c", "d", "e"]
    assert await _walk(as_alice, alice, sort="updated") == ["c", "a", "e", "d", "b"]
    assert await _walk(as_alice, alice, sort="updated", order="asc") == ["b", "d", "e", "a", "c"]
    # Highest first, ties newer first; ascending reverses both.
    assert await _walk(as_alice, alice, sort="priority") == ["d", "b", "e", "a", "c"]
    assert await _walk(as_alice, alice, sort="priority", order="asc") == [
        "c",
        "a",
        "e",
        "b",
        "d",
    ]
    assert await _walk(as_alice, alice, sort="priority", priority=3) == ["d", "b"]


async def test_a_cursor_of_another_order_is_a_400(as_alice: httpx.AsyncClient, alice: str) -> None:
    for n in range(3):
        await _create(as_alice, alice, title=f"t{n}")
    first = await as_alice.get(f"/api/{alice}/tasks", params={"limit": 1, "sort": "priority"})
    cursor = first.headers["x-next-cursor"]
    for params in ({}, {"sort": "priority", "order": "asc"}, {"sort": "updated"}):
        refused = await as_alice.get(f"/api/{alice}/tasks", params={"cursor": cursor, **params})
        assert refused.status_code == 400, params
        assert refused.json()["detail"][0]["loc"] == ["query", "cursor"]
    bad = await as_alice.get(f"/api/{alice}/tasks", params={"sort": "title"})
    assert bad.status_code == 400
    assert bad.json()["detail"][0]["loc"] == ["query", "sort"]

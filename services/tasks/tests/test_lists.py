"""Lists: CRUD owned like tasks, unique names ignoring case, a per-user bound, tasks that name
only their owner's lists, deletes that refuse to orphan tasks (or trash them), an order set
by moves, and every change in the feed."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.issuer import TestIssuer
from todo_tasks.main import create_tasks_app
from todo_tasks.settings import Settings


async def _list(client: httpx.AsyncClient, user: str, name: str) -> dict[str, Any]:
    response = await client.post(f"/api/{user}/lists", json={"name": name})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _task(client: httpx.AsyncClient, user: str, **fields: Any) -> dict[str, Any]:
    response = await client.post(f"/api/{user}/tasks", json={"title": "t", **fields})
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


async def _lists(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return list(await conn.execute(text("SELECT * FROM task_lists ORDER BY id")))


async def test_a_list_is_created_read_renamed_and_deleted(
    as_alice: httpx.AsyncClient, alice: str
) -> None:
    response = await as_alice.post(f"/api/{alice}/lists", json={"name": "Groceries"})
    assert response.status_code == 201
    created = response.json()
    assert set(created) == {"id", "name", "position", "created_at", "updated_at", "version"}
    assert created["name"] == "Groceries"
    assert created["version"] == 1
    path = f"/api/{alice}/lists/{created['id']}"
    assert response.headers["location"] == path
    assert response.headers["etag"] == '"1"'
    assert (await as_alice.get(path)).json() == created

    renamed = await as_alice.patch(path, json={"name": "Shopping"}, headers={"If-Match": '"1"'})
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Shopping"
    assert renamed.json()["version"] == 2
    stale = await as_alice.patch(path, json={"name": "Food"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.headers["etag"] == '"2"'

    listed = await as_alice.get(f"/api/{alice}/lists")
    assert listed.headers["x-total-count"] == "1"
    assert [found["name"] for found in listed.json()] == ["Shopping"]
    assert (await as_alice.delete(path)).status_code == 204
    assert (await as_alice.get(path)).status_code == 404
    assert (await as_alice.delete(path)).status_code == 404
    assert (await as_alice.get(f"/api/{alice}/lists")).json() == []


async def test_another_users_list_is_a_404_on_my_path_and_a_403_on_theirs(
    as_alice: httpx.AsyncClient, as_bob: httpx.AsyncClient, alice: str, bob: str
) -> None:
    bobs = await _list(as_bob, bob, "Bob's")
    mine = f"/api/{alice}/lists/{bobs['id']}"
    assert (await as_alice.get(mine)).status_code == 404
    assert (await as_alice.patch(mine, json={"name": "x"})).status_code == 404
    assert (await as_alice.delete(mine)).status_code == 404
    assert (await as_alice.post(f"{mine}/move", json={})).status_code == 404
    theirs = f"/api/{bob}/lists/{bobs['id']}"
    assert (await as_alice.get(theirs)).status_code == 403
    assert (await as_alice.delete(theirs)).status_code == 403
    assert (await as_bob.get(theirs)).json() == bobs


async def test_names_are_unique_per_user_ignoring_case_and_bad_names_change_nothing(
    as_alice: httpx.AsyncClient,
    as_bob: httpx.AsyncClient,
    alice: str,
    bob: str,
    engine: AsyncEngine,
) -> None:
    home = await _list(as_alice, alice, "Home")
    await _list(as_bob, bob, "home")  # another user's equal name is theirs
    before = await _lists(engine)
    taken = await as_alice.post(f"/api/{alice}/lists", json={"name": "HOME"})
    assert taken.status_code == 409
    assert "name" in taken.json()["detail"]
    work = await _list(as_alice, alice, "Work")
    before = await _lists(engine)
    renamed = await as_alice.patch(f"/api/{alice}/lists/{work['id']}", json={"name": "home"})
    assert renamed.status_code == 409
    for body in (
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 101},
        {"name": 3},
        {},
        {"name": None},
    ):
        refused = await as_alice.post(f"/api/{alice}/lists", json=body)
        assert refused.status_code == 400, body
        assert refused.json()["detail"][0]["loc"][-1] in ("name", "body")
    assert await _lists(engine) == before
    assert (await _list(as_alice, alice, "x" * 100))["name"] == "x" * 100
    assert home["name"] == "Home"


async def test_at_most_lists_per_user_even_when_created_at_once(
    settings: Settings, issuer: TestIssuer, alice: str, client_for: Any
) -> None:
    """Twelve creates at once with room for five: exactly five land."""
    app: FastAPI = create_tasks_app(settings.model_copy(update={"lists_per_user": 5}))
    async with LifespanManager(app), client_for(app, issuer.mint(alice)) as client:
        answers = await asyncio.gather(
            *(client.post(f"/api/{alice}/lists", json={"name": f"l{n}"}) for n in range(12))
        )
        assert sorted(a.status_code for a in answers) == [201] * 5 + [409] * 7
        assert (await client.get(f"/api/{alice}/lists")).headers["x-total-count"] == "5"


async def test_a_task_names_only_a_list_of_its_owner(
    as_alice: httpx.AsyncClient,
    as_bob: httpx.AsyncClient,
    alice: str,
    bob: str,
    snapshot: Any,
) -> None:
    groceries = await _list(as_alice, alice, "Groceries")
    bobs = await _list(as_bob, bob, "Bob's")
    task = await _task(as_alice, alice, title="milk", list_id=groceries["id"])
    assert task["list_id"] == groceries["id"]
    inbox = await _task(as_alice, alice, title="call")
    assert inbox["list_id"] is None
    before = await snapshot()
    path = f"/api/{alice}/tasks"
    for write in (
        as_alice.post(path, json={"title": "x", "list_id": bobs["id"]}),
        as_alice.post(path, json={"title": "x", "list_id": 10**15}),
        as_alice.post(path, json={"title": "x", "list_id": "1"}),
        as_alice.post(path, json={"title": "x", "list_id": 0}),
        as_alice.patch(f"{path}/{task['id']}", json={"list_id": bobs["id"]}),
        as_alice.put(f"{path}/{task['id']}", json={"title": "x", "list_id": bobs["id"]}),
    ):
        refused = await write
        assert refused.status_code == 400
        assert refused.json()["detail"][0]["loc"] == ["body", "list_id"]
    assert await snapshot() == before
    # Bob's list id refuses exactly as a list that does not exist: nothing to learn from it.
    moved = await as_alice.patch(f"{path}/{task['id']}", json={"list_id": None})
    assert moved.status_code == 200
    assert moved.json()["list_id"] is None


async def test_list_and_inbox_filters_with_exact_totals(
    as_alice: httpx.AsyncClient, alice: str
) -> None:
    home = await _list(as_alice, alice, "Home")
    work = await _list(as_alice, alice, "Work")
    for n in range(3):
        await _task(as_alice, alice, title=f"h{n}", list_id=home["id"], completed=n == 0)
    await _task(as_alice, alice, title="w", list_id=work["id"])
    await _task(as_alice, alice, title="i")
    path = f"/api/{alice}/tasks"
    at_home = await as_alice.get(path, params={"list_id": home["id"]})
    assert [t["title"] for t in at_home.json()] == ["h2", "h1", "h0"]
    assert at_home.headers["x-total-count"] == "3"
    open_home = await as_alice.get(path, params={"list_id": home["id"], "completed": "false"})
    assert open_home.headers["x-total-count"] == "2"
    inbox = await as_alice.get(path, params={"inbox": "true"})
    assert [t["title"] for t in inbox.json()] == ["i"]
    assert inbox.headers["x-total-count"] == "1"
    both = await as_alice.get(path, params={"inbox": "true", "list_id": home["id"]})
    assert both.status_code == 400
    unordered = await as_alice.get(path, params={"sort": "position"})
    assert unordered.status_code == 400
    assert unordered.json()["detail"][0]["loc"][-1] == "sort"


async def test_a_list_with_tasks_is_kept_unless_its_tasks_go_to_the_trash(
    as_alice: httpx.AsyncClient, alice: str, snapshot: Any
) -> None:
    home = await _list(as_alice, alice, "Home")
    tasks = [await _task(as_alice, alice, title=f"h{n}", list_id=home["id"]) for n in range(2)]
    path = f"/api/{alice}/lists/{home['id']}"
    before = await snapshot()
    refused = await as_alice.delete(path)
    assert refused.status_code == 409
    assert await snapshot() == before
    assert (await as_alice.get(path)).status_code == 200
    stale = await as_alice.delete(path, params={"with_tasks": "true"}, headers={"If-Match": '"9"'})
    assert stale.status_code == 412
    assert await snapshot() == before

    assert (await as_alice.delete(path, params={"with_tasks": "true"})).status_code == 204
    assert (await as_alice.get(path)).status_code == 404
    assert (await as_alice.get(f"/api/{alice}/tasks")).json() == []
    trash = await as_alice.get(f"/api/{alice}/trash")
    assert {t["id"] for t in trash.json()} == {t["id"] for t in tasks}
    # Back from the trash into the Inbox: its list is gone.
    restored = await as_alice.post(f"/api/{alice}/tasks/{tasks[0]['id']}/restore")
    assert restored.status_code == 200
    assert restored.json()["list_id"] is None


async def test_lists_are_in_the_change_feed(as_alice: httpx.AsyncClient, alice: str) -> None:
    start = (await as_alice.get(f"/api/{alice}/changes")).json()["cursor"]
    home = await _list(as_alice, alice, "Home")
    await as_alice.patch(f"/api/{alice}/lists/{home['id']}", json={"name": "House"})
    feed = (await as_alice.get(f"/api/{alice}/changes", params={"since": start})).json()
    # The create and the rename: the latest only.
    assert [(c["op"], c["type"], c["id"], c["version"]) for c in feed["changes"]] == [
        ("upsert", "list", home["id"], 2)
    ]
    assert feed["changes"][0]["list"]["name"] == "House"
    task = await _task(as_alice, alice, list_id=home["id"])
    await as_alice.delete(f"/api/{alice}/lists/{home['id']}", params={"with_tasks": "true"})
    feed = (await as_alice.get(f"/api/{alice}/changes", params={"since": feed["cursor"]})).json()
    assert [(c["op"], c["type"], c["id"], c["version"]) for c in feed["changes"]] == [
        ("delete", "list", home["id"], 3),
        ("delete", "task", task["id"], 2),
    ]
    assert (await as_alice.get(f"/api/{alice}/changes")).json()["changes"] == []


def _titles(response: httpx.Response) -> list[str]:
    return [task["title"] for task in response.json()]


async def test_moves_set_a_lists_order_writing_only_the_moved_task(
    as_alice: httpx.AsyncClient, alice: str, engine: AsyncEngine
) -> None:
    home = await _list(as_alice, alice, "Home")
    made = {t: await _task(as_alice, alice, title=t, list_id=home["id"]) for t in "abcd"}
    path = f"/api/{alice}/tasks"
    ordered = {"list_id": home["id"], "sort": "position"}
    assert _titles(await as_alice.get(path, params=ordered)) == ["d", "c", "b", "a"]

    async def versions() -> dict[str, int]:
        listed = await as_alice.get(path, params=ordered)
        return {t["title"]: t["version"] for t in listed.json()}

    before = await versions()
    moved = await as_alice.post(f"{path}/{made['a']['id']}/move", json={"before": made["c"]["id"]})
    assert moved.status_code == 200
    assert moved.json()["version"] == made["a"]["version"] + 1
    assert moved.headers["etag"] == f'"{moved.json()["version"]}"'
    assert _titles(await as_alice.get(path, params=ordered)) == ["d", "a", "c", "b"]
    after = await versions()
    assert {t for t in "abcd" if after[t] != before[t]} == {"a"}

    await as_alice.post(f"{path}/{made['d']['id']}/move", json={"after": made["b"]["id"]})
    assert _titles(await as_alice.get(path, params=ordered)) == ["a", "c", "b", "d"]
    await as_alice.post(f"{path}/{made['b']['id']}/move", json={})
    assert _titles(await as_alice.get(path, params=ordered)) == ["b", "a", "c", "d"]
    reverse = await as_alice.get(path, params={**ordered, "order": "desc"})
    assert _titles(reverse) == ["d", "c", "a", "b"]
    # A task created now comes first, as it always did.
    await _task(as_alice, alice, title="e", list_id=home["id"])
    assert _titles(await as_alice.get(path, params=ordered)) == ["e", "b", "a", "c", "d"]


async def test_a_move_to_another_list_and_refused_moves(
    as_alice: httpx.AsyncClient,
    as_bob: httpx.AsyncClient,
    alice: str,
    bob: str,
    bob_task: dict[str, Any],
    snapshot: Any,
) -> None:
    home = await _list(as_alice, alice, "Home")
    work = await _list(as_alice, alice, "Work")
    task = await _task(as_alice, alice, title="t", list_id=home["id"])
    there = await _task(as_alice, alice, title="w", list_id=work["id"])
    inbox = await _task(as_alice, alice, title="i")
    bobs_list = await _list(as_bob, bob, "B")
    move = f"/api/{alice}/tasks/{task['id']}/move"
    before = await snapshot()
    for body, field in (
        ({"before": there["id"]}, "before"),  # of another list than the one it stays in
        ({"after": inbox["id"]}, "after"),
        ({"after": bob_task["id"]}, "after"),  # another user's task
        ({"before": task["id"]}, "before"),  # itself
        ({"before": there["id"], "list_id": home["id"]}, "before"),
        ({"list_id": bobs_list["id"]}, "list_id"),
        ({"before": there["id"], "after": there["id"]}, "body"),
        ({"before": None}, "before"),
        ({"after": "1"}, "after"),
    ):
        refused = await as_alice.post(move, json=body)
        assert refused.status_code == 400, body
        assert refused.json()["detail"][0]["loc"][-1] == field, (body, refused.json())
    assert await snapshot() == before
    assert (
        await as_alice.post(f"/api/{alice}/tasks/{bob_task['id']}/move", json={})
    ).status_code == 404
    stale = await as_alice.post(move, json={}, headers={"If-Match": '"7"'})
    assert stale.status_code == 412
    assert stale.headers["etag"] == f'"{task["version"]}"'
    assert await snapshot() == before

    moved = await as_alice.post(move, json={"after": there["id"], "list_id": work["id"]})
    assert moved.status_code == 200
    assert moved.json()["list_id"] == work["id"]
    listed = await as_alice.get(
        f"/api/{alice}/tasks", params={"list_id": work["id"], "sort": "position"}
    )
    assert _titles(listed) == ["w", "t"]
    to_inbox = await as_alice.post(move, json={"list_id": None})
    assert to_inbox.json()["list_id"] is None
    listed = await as_alice.get(f"/api/{alice}/tasks", params={"inbox": "true", "sort": "position"})
    assert _titles(listed)[0] == "t"


async def test_the_same_spot_five_thousand_times_keeps_keys_short_and_the_order_right(
    as_alice: httpx.AsyncClient, alice: str
) -> None:
    """Two tasks swapped after a third, again and again: each move splits the same shrinking
    gap, so the keys would grow without end; the spread keeps them short."""
    made = [await _task(as_alice, alice, title=str(n)) for n in range(6)]  # 5 4 3 2 1 0
    path = f"/api/{alice}/tasks"
    ordered = {"inbox": "true", "sort": "position"}
    anchor, first, second = made[3], made[0], made[1]
    longest = 0
    for n in range(5000):
        mover = first if n % 2 == 0 else second
        moved = await as_alice.post(f"{path}/{mover['id']}/move", json={"after": anchor["id"]})
        assert moved.status_code == 200
        longest = max(longest, len(moved.json()["position"].encode()))
        if n % 1000 == 999:
            expected = [
                "5",
                "4",
                "3",
                mover["title"],
                (second if mover is first else first)["title"],
                "2",
            ]
            assert _titles(await as_alice.get(path, params=ordered)) == expected
    assert longest < 64
    positions = [t["position"] for t in (await as_alice.get(path, params=ordered)).json()]
    assert positions == sorted(positions)
    assert len(set(positions)) == 6


async def test_position_pages_follow_a_cursor_without_skipping_or_repeating(
    as_alice: httpx.AsyncClient, alice: str
) -> None:
    made = [await _task(as_alice, alice, title=str(n)) for n in range(7)]
    path = f"/api/{alice}/tasks"
    for task in made[:3]:
        await as_alice.post(f"{path}/{task['id']}/move", json={"after": made[5]["id"]})
    ordered: dict[str, Any] = {"inbox": "true", "sort": "position", "limit": 2}
    everything = _titles(await as_alice.get(path, params={**ordered, "limit": 100}))
    seen: list[str] = []
    params: dict[str, Any] = dict(ordered)
    while True:
        page = await as_alice.get(path, params=params)
        assert page.status_code == 200
        seen += _titles(page)
        cursor = page.headers.get("x-next-cursor")
        if cursor is None:
            break
        params = {**ordered, "cursor": cursor}
    assert seen == everything
    assert len(seen) == 7
    first = await as_alice.get(path, params=ordered)
    mixed = await as_alice.get(
        path, params={"sort": "created", "cursor": first.headers["x-next-cursor"]}
    )
    assert mixed.status_code == 400


async def test_lists_are_reordered_by_moves(as_alice: httpx.AsyncClient, alice: str) -> None:
    made = [await _list(as_alice, alice, name) for name in ("a", "b", "c")]
    path = f"/api/{alice}/lists"

    async def names() -> list[str]:
        return [found["name"] for found in (await as_alice.get(path)).json()]

    assert await names() == ["a", "b", "c"]
    moved = await as_alice.post(f"{path}/{made[2]['id']}/move", json={"before": made[0]["id"]})
    assert moved.status_code == 200
    assert moved.json()["version"] == 2
    assert await names() == ["c", "a", "b"]
    await as_alice.post(f"{path}/{made[2]['id']}/move", json={"after": made[1]["id"]})
    assert await names() == ["a", "b", "c"]
    await as_alice.post(f"{path}/{made[1]['id']}/move", json={})
    assert await names() == ["b", "a", "c"]
    refused = await as_alice.post(f"{path}/{made[1]['id']}/move", json={"after": 10**12})
    assert refused.status_code == 400
    assert await names() == ["b", "a", "c"]

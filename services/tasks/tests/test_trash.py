"""The trash: a delete moves a task there (for old clients it is gone, as before), it can be
listed, restored (same id, every field, one version on), discarded or emptied, and the purge
deletes what is past the retention, once, across purgers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from todo_shared.db import Database, open_database
from todo_tasks.purge import purge_once
from todo_tasks.settings import Settings


async def _task(client: httpx.AsyncClient, user: str, **fields: Any) -> dict[str, Any]:
    response = await client.post(f"/api/{user}/tasks", json={"title": "t", **fields})
    assert response.status_code == 201
    task: dict[str, Any] = response.json()
    return task


async def test_a_deleted_task_is_gone_for_old_clients_and_in_the_trash(
    as_alice: httpx.AsyncClient, alice: str
) -> None:
    kept = await _task(as_alice, alice, title="kept")
    task = await _task(as_alice, alice, title="binned", priority=2, labels=["x"], completed=True)
    path = f"/api/{alice}/tasks/{task['id']}"
    assert (await as_alice.delete(path)).status_code == 204
    assert (await as_alice.get(path)).status_code == 404
    assert (await as_alice.delete(path)).status_code == 404
    listed = await as_alice.get(f"/api/{alice}/tasks")
    assert [t["id"] for t in listed.json()] == [kept["id"]]
    assert listed.headers["x-total-count"] == "1"
    done = await as_alice.get(f"/api/{alice}/tasks", params={"completed": "true"})
    assert done.headers["x-total-count"] == "0"

    trash = await as_alice.get(f"/api/{alice}/trash")
    assert trash.status_code == 200
    assert trash.headers["x-total-count"] == "1"
    assert trash.json() == [{**task, "version": task["version"] + 1}]


async def test_a_restore_brings_back_every_field_with_the_same_id_one_version_on(
    as_alice: httpx.AsyncClient, alice: str
) -> None:
    task = await _task(as_alice, alice, title="back", description="d", priority=3, labels=["a"])
    await as_alice.delete(f"/api/{alice}/tasks/{task['id']}")
    restored = await as_alice.post(f"/api/{alice}/tasks/{task['id']}/restore")
    assert restored.status_code == 200
    body = restored.json()
    assert body["version"] == 3  # created 1, deleted 2, restored 3
    assert restored.headers["etag"] == '"3"'
    unchanged = {key: value for key, value in task.items() if key not in ("version", "updated_at")}
    assert {key: body[key] for key in unchanged} == unchanged
    assert (await as_alice.get(f"/api/{alice}/tasks/{task['id']}")).json() == body
    assert (await as_alice.get(f"/api/{alice}/trash")).json() == []
    counted = await as_alice.get(f"/api/{alice}/tasks")
    assert counted.headers["x-total-count"] == "1"
    again = await as_alice.post(f"/api/{alice}/tasks/{task['id']}/restore")
    assert again.status_code == 404


async def test_the_feed_sees_the_delete_as_a_tombstone_and_the_restore_as_an_upsert(
    as_alice: httpx.AsyncClient, alice: str
) -> None:
    task = await _task(as_alice, alice)
    cursor = (await as_alice.get(f"/api/{alice}/changes")).json()["cursor"]
    await as_alice.delete(f"/api/{alice}/tasks/{task['id']}")
    restored = (await as_alice.post(f"/api/{alice}/tasks/{task['id']}/restore")).json()
    changes = (await as_alice.get(f"/api/{alice}/changes", params={"since": cursor})).json()
    assert changes["changes"] == [
        {"op": "delete", "type": "task", "id": task["id"], "version": 2},
        {"op": "upsert", "type": "task", "id": task["id"], "version": 3, "task": restored},
    ]


async def test_restore_honours_if_match_and_changes_nothing_on_412(
    as_alice: httpx.AsyncClient, alice: str
) -> None:
    task = await _task(as_alice, alice)
    await as_alice.delete(f"/api/{alice}/tasks/{task['id']}")
    path = f"/api/{alice}/tasks/{task['id']}/restore"
    stale = await as_alice.post(path, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.headers["etag"] == '"2"'
    assert len((await as_alice.get(f"/api/{alice}/trash")).json()) == 1
    assert (await as_alice.post(path, headers={"If-Match": '"2"'})).status_code == 200


async def test_two_restores_at_once_bring_it_back_once(
    as_alice: httpx.AsyncClient, alice: str
) -> None:
    task = await _task(as_alice, alice)
    await as_alice.delete(f"/api/{alice}/tasks/{task['id']}")
    path = f"/api/{alice}/tasks/{task['id']}/restore"
    answers = await asyncio.gather(*(as_alice.post(path) for _ in range(5)))
    assert sorted(a.status_code for a in answers) == [200, 404, 404, 404, 404]
    assert (await as_alice.get(f"/api/{alice}/tasks")).headers["x-total-count"] == "1"


async def test_discard_and_empty_delete_for_good(as_alice: httpx.AsyncClient, alice: str) -> None:
    tasks = [await _task(as_alice, alice, title=f"t{n}") for n in range(3)]
    for task in tasks:
        await as_alice.delete(f"/api/{alice}/tasks/{task['id']}")
    first = tasks[0]["id"]
    assert (await as_alice.delete(f"/api/{alice}/trash/{first}")).status_code == 204
    assert (await as_alice.delete(f"/api/{alice}/trash/{first}")).status_code == 404
    assert (await as_alice.post(f"/api/{alice}/tasks/{first}/restore")).status_code == 404
    trash = await as_alice.get(f"/api/{alice}/trash")
    assert [t["title"] for t in trash.json()] == ["t2", "t1"]  # latest deleted first
    assert (await as_alice.delete(f"/api/{alice}/trash")).status_code == 204
    assert (await as_alice.get(f"/api/{alice}/trash")).json() == []


async def test_the_trash_pages_by_cursor(as_alice: httpx.AsyncClient, alice: str) -> None:
    ids = [(await _task(as_alice, alice, title=f"t{n}"))["id"] for n in range(5)]
    for task_id in ids:
        await as_alice.delete(f"/api/{alice}/tasks/{task_id}")
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = await as_alice.get(f"/api/{alice}/trash", params=params)
        assert page.headers["x-total-count"] == "5"
        seen += [t["id"] for t in page.json()]
        if "x-next-cursor" not in page.headers:
            break
        params["cursor"] = page.headers["x-next-cursor"]
    assert seen == ids[::-1]


async def test_another_users_trash_is_out_of_reach(
    as_alice: httpx.AsyncClient, alice: str, as_bob: httpx.AsyncClient, bob: str
) -> None:
    task = await _task(as_bob, bob)
    await as_bob.delete(f"/api/{bob}/tasks/{task['id']}")
    assert (await as_alice.get(f"/api/{bob}/trash")).status_code == 403
    assert (await as_alice.delete(f"/api/{bob}/trash")).status_code == 403
    mine = f"/api/{alice}/tasks/{task['id']}/restore"
    assert (await as_alice.post(mine)).status_code == 404
    assert (await as_alice.delete(f"/api/{alice}/trash/{task['id']}")).status_code == 404
    assert len((await as_bob.get(f"/api/{bob}/trash")).json()) == 1


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    async with open_database(settings) as db:
        yield db


async def test_the_purge_deletes_what_is_past_the_retention_once_across_purgers(
    as_alice: httpx.AsyncClient, alice: str, engine: AsyncEngine, database: Database
) -> None:
    ids = [(await _task(as_alice, alice, title=f"t{n}"))["id"] for n in range(7)]
    for task_id in ids:
        await as_alice.delete(f"/api/{alice}/tasks/{task_id}")
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE task_trash SET trashed_at = now() - interval '31 days'"
                " WHERE user_id = :owner AND task_id <> :recent"
            ),
            {"owner": alice, "recent": ids[-1]},
        )
    retention = timedelta(days=30)
    purged = await asyncio.gather(*(purge_once(database, retention, 2) for _ in range(3)))
    # Every old task went, in batches of 2, each once: the purgers' counts add up to 6.
    assert sum(n or 0 for n in purged) == 6
    left = (await as_alice.get(f"/api/{alice}/trash")).json()
    assert [t["id"] for t in left] == [ids[-1]]
    assert await purge_once(database, retention, 2) == 0

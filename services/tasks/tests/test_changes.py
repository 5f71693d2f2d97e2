"""The change feed: everything after a cursor, in commit order, never skipping a change."""

from __future__ import annotations

import asyncio
import random
from base64 import urlsafe_b64encode
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from todo_tasks.settings import Settings

Snapshot = Callable[[], Awaitable[list[Any]]]


def feed(user: str) -> str:
    return f"/api/{user}/changes"


async def read_to_the_end(
    client: httpx.AsyncClient, user: str, cursor: str | None, held: dict[int, Any], limit: int = 500
) -> str:
    """Apply pages until `has_more` is false, as a client does; the cursor to resume at."""
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["since"] = cursor
        response = await client.get(feed(user), params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        for change in page["changes"]:
            if change["op"] == "upsert":
                assert change["task"]["version"] == change["version"]
                held[change["id"]] = change["task"]
            else:
                held.pop(change["id"], None)
        cursor = page["cursor"]
        if not page["has_more"]:
            return str(cursor)


async def server_tasks(client: httpx.AsyncClient, user: str) -> dict[int, Any]:
    listed = await client.get(f"/api/{user}/tasks", params={"limit": 500})
    return {task["id"]: task for task in listed.json()}


async def test_from_the_start_the_feed_is_every_live_task_then_each_change_in_order(
    as_alice: httpx.AsyncClient, alice: str
) -> None:
    ids = []
    for title in ("a", "b", "c"):
        ids.append((await as_alice.post(f"/api/{alice}/tasks", json={"title": title})).json()["id"])
    await as_alice.delete(f"/api/{alice}/tasks/{ids[2]}")
    first = (await as_alice.get(feed(alice))).json()
    assert [(c["op"], c["id"], c["version"]) for c in first["changes"]] == [
        ("upsert", ids[0], 1),
        ("upsert", ids[1], 1),
    ]
    assert first["has_more"] is False

    await as_alice.patch(f"/api/{alice}/tasks/{ids[0]}", json={"title": "a2"})
    await as_alice.delete(f"/api/{alice}/tasks/{ids[1]}")
    created = (await as_alice.post(f"/api/{alice}/tasks", json={"title": "d"})).json()
    after = (await as_alice.get(feed(alice), params={"since": first["cursor"]})).json()
    assert [(c["op"], c["id"], c["version"]) for c in after["changes"]] == [
        ("upsert", ids[0], 2),
        ("delete", ids[1], 2),
        ("upsert", created["id"], 1),
    ]
    assert after["changes"][0]["task"]["title"] == "a2"
    assert "task" not in after["changes"][1]
    # At the end, the cursor it gives is where nothing is new.
    again = (await as_alice.get(feed(alice), params={"since": after["cursor"]})).json()
    assert (again["changes"], again["has_more"]) == ([], False)


async def test_pages_of_the_feed_resume_exactly_where_the_last_one_ended(
    as_alice: httpx.AsyncClient, alice: str
) -> None:
    for n in range(7):
        await as_alice.post(f"/api/{alice}/tasks", json={"title": f"t{n}"})
    held: dict[int, Any] = {}
    pages = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"since": cursor} if cursor else {})}
        page = (await as_alice.get(feed(alice), params=params)).json()
        pages.append([c["id"] for c in page["changes"]])
        held.update({c["id"]: c["task"] for c in page["changes"]})
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    assert [len(p) for p in pages] == [3, 3, 1]
    assert held == await server_tasks(as_alice, alice)


async def test_another_users_changes_never_appear_and_their_feed_is_a_403(
    as_alice: httpx.AsyncClient, alice: str, bob: str, bob_task: dict[str, Any]
) -> None:
    await as_alice.post(f"/api/{alice}/tasks", json={"title": "mine"})
    mine = (await as_alice.get(feed(alice))).json()
    assert [c["task"]["user_id"] for c in mine["changes"]] == [alice]
    assert (await as_alice.get(feed(bob))).status_code == 403


def _cursor(seq: int, issued: datetime) -> str:
    text = f"{seq}.{int(issued.timestamp())}"
    return urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "since",
    ["nonsense", "", "MTIz", _cursor(10**6, datetime.now(UTC)), "=" * 10],
)
async def test_a_cursor_the_service_did_not_issue_is_a_400_naming_since(
    as_alice: httpx.AsyncClient, alice: str, since: str
) -> None:
    await as_alice.post(f"/api/{alice}/tasks", json={"title": "x"})
    response = await as_alice.get(feed(alice), params={"since": since})
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == ["query", "since"]


@pytest.mark.parametrize("limit", [0, 1001, -1])
async def test_a_limit_outside_1_to_1000_is_a_400(
    as_alice: httpx.AsyncClient, alice: str, limit: int
) -> None:
    response = await as_alice.get(feed(alice), params={"limit": limit})
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == ["query", "limit"]


async def test_a_cursor_older_than_the_retention_is_a_410(
    as_alice: httpx.AsyncClient, alice: str, settings: Settings
) -> None:
    await as_alice.post(f"/api/{alice}/tasks", json={"title": "x"})
    old = datetime.now(UTC) - timedelta(days=settings.change_retention_days, minutes=1)
    response = await as_alice.get(feed(alice), params={"since": _cursor(1, old)})
    assert response.status_code == 410
    assert "without `since`" in response.json()["detail"]


async def test_a_cursor_from_before_a_purged_tombstone_is_a_410(
    as_alice: httpx.AsyncClient, alice: str, engine: AsyncEngine
) -> None:
    """Tombstones past the retention are purged on the next delete; a cursor that could have
    missed one of them must start again."""
    ids = [
        (await as_alice.post(f"/api/{alice}/tasks", json={"title": t})).json()["id"]
        for t in ("a", "b")
    ]
    cursor = (await as_alice.get(feed(alice))).json()["cursor"]
    await as_alice.delete(f"/api/{alice}/tasks/{ids[0]}")
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE task_tombstones SET deleted_at = now() - interval '40 days'"
                " WHERE user_id = :owner"
            ),
            {"owner": alice},
        )
    await as_alice.delete(f"/api/{alice}/tasks/{ids[1]}")  # purges the aged tombstone
    response = await as_alice.get(feed(alice), params={"since": cursor})
    assert response.status_code == 410
    restart = (await as_alice.get(feed(alice))).json()
    assert restart["changes"] == []


async def test_a_reader_following_concurrent_writers_ends_with_exactly_the_servers_tasks(
    as_alice: httpx.AsyncClient, alice: str, engine: AsyncEngine
) -> None:
    """Writers create, patch, complete and delete through the API while others hold their
    transaction open between writing and committing (so commits land out of the order the
    writes began in: what a shared sequence read by `> last seen` would skip). A reader
    follows the feed to its end over and over; after the writers stop, one more read must
    leave it holding exactly the server's tasks at their latest versions."""
    rng = random.Random(20)
    stop = asyncio.Event()

    async def api_writer() -> None:
        mine: list[int] = []
        for _ in range(40):
            action = rng.random()
            if not mine or action < 0.4:
                made = await as_alice.post(f"/api/{alice}/tasks", json={"title": "w"})
                mine.append(made.json()["id"])
            elif action < 0.6:
                await as_alice.patch(f"/api/{alice}/tasks/{rng.choice(mine)}", json={"title": "p"})
            elif action < 0.8:
                await as_alice.patch(f"/api/{alice}/tasks/{rng.choice(mine)}/complete")
            else:
                await as_alice.delete(f"/api/{alice}/tasks/{mine.pop(rng.randrange(len(mine)))}")

    async def slow_committer() -> None:
        for _ in range(15):
            async with engine.begin() as connection:
                await connection.execute(
                    text("INSERT INTO tasks (user_id, title) VALUES (:owner, 'slow')"),
                    {"owner": alice},
                )
                await asyncio.sleep(rng.random() * 0.05)

    async def reader() -> dict[int, Any]:
        held: dict[int, Any] = {}
        cursor = None
        while not stop.is_set():
            cursor = await read_to_the_end(as_alice, alice, cursor, held, limit=7)
        await read_to_the_end(as_alice, alice, cursor, held, limit=7)
        return held

    following = asyncio.create_task(reader())
    writers = (*(api_writer() for _ in range(3)), *(slow_committer() for _ in range(2)))
    await asyncio.gather(*writers)
    stop.set()
    held = await following
    assert held == await server_tasks(as_alice, alice)

    assert len(held) > 10

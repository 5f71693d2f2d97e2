"""Keyset paging of GET /api/{user_id}/tasks (`cursor` / `X-Next-Cursor`), and the exact
`X-Total-Count` the per-user counts give without scanning."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.tasks import add_tasks
from todo_shared.migrations import alembic_config, upgrade_to_head
from todo_tasks.cli import MIGRATIONS_DIR


async def walk(client: httpx.AsyncClient, path: str, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page, following X-Next-Cursor until a page has none."""
    pages = []
    response = await client.get(path, params=params)
    while True:
        assert response.status_code == 200
        pages.append(response.json())
        cursor = response.headers.get("x-next-cursor")
        if cursor is None:
            return pages
        response = await client.get(path, params={**params, "cursor": cursor})


def titles(tasks: list[dict[str, Any]]) -> list[str]:
    return [task["title"] for task in tasks]


async def test_cursor_pages_walk_the_list_in_order(
    engine: AsyncEngine, as_alice: httpx.AsyncClient, alice: str
) -> None:
    await add_tasks(engine, alice, 7)
    pages = await walk(as_alice, f"/api/{alice}/tasks", limit=3)
    assert [titles(page) for page in pages] == [
        ["task 1", "task 2", "task 3"],
        ["task 4", "task 5", "task 6"],
        ["task 7"],
    ]
    everything = (await as_alice.get(f"/api/{alice}/tasks")).json()
    assert [task for page in pages for task in page] == everything


async def test_a_full_last_page_has_no_next_cursor(
    engine: AsyncEngine, as_alice: httpx.AsyncClient, alice: str
) -> None:
    await add_tasks(engine, alice, 4)
    pages = await walk(as_alice, f"/api/{alice}/tasks", limit=2)
    assert [len(page) for page in pages] == [2, 2]
    exact = await as_alice.get(f"/api/{alice}/tasks", params={"limit": 4})
    assert "x-next-cursor" not in exact.headers
    assert "x-next-cursor" in (await as_alice.get(f"/api/{alice}/tasks?limit=3")).headers


async def test_ties_on_created_at_are_paged_by_id(
    engine: AsyncEngine, as_alice: httpx.AsyncClient, alice: str
) -> None:
    await add_tasks(engine, alice, 5, same_time=True)
    pages = await walk(as_alice, f"/api/{alice}/tasks", limit=2)
    ids = [task["id"] for page in pages for task in page]
    assert ids == sorted(ids, reverse=True)
    assert len(ids) == 5


async def test_cursor_pages_are_stable_while_tasks_are_added(
    engine: AsyncEngine, as_alice: httpx.AsyncClient, alice: str
) -> None:
    """New tasks go to the top: the next cursor page neither repeats nor skips a task (an
    offset page would repeat the last one of the page before)."""
    await add_tasks(engine, alice, 6)
    first = await as_alice.get(f"/api/{alice}/tasks", params={"limit": 3})
    for title in ("new 1", "new 2"):
        assert (await as_alice.post(f"/api/{alice}/tasks", json={"title": title})).is_success
    cursor = first.headers["x-next-cursor"]
    second = await as_alice.get(f"/api/{alice}/tasks", params={"limit": 3, "cursor": cursor})
    assert titles(first.json()) == ["task 1", "task 2", "task 3"]
    assert titles(second.json()) == ["task 4", "task 5", "task 6"]
    assert second.headers["x-total-count"] == "8"
    by_offset = await as_alice.get(f"/api/{alice}/tasks", params={"limit": 3, "offset": 3})
    assert titles(by_offset.json()) == ["task 2", "task 3", "task 4"]


@pytest.mark.parametrize(("completed", "expected"), [("true", "2 4 6"), ("false", "1 3 5 7")])
async def test_cursor_pages_keep_the_filter(
    engine: AsyncEngine, as_alice: httpx.AsyncClient, alice: str, completed: str, expected: str
) -> None:
    await add_tasks(engine, alice, 7)  # even tasks are completed
    pages = await walk(as_alice, f"/api/{alice}/tasks", limit=2, completed=completed)
    assert [task for page in pages for task in titles(page)] == [
        f"task {n}" for n in expected.split()
    ]
    response = await as_alice.get(f"/api/{alice}/tasks?limit=2&completed={completed}")
    assert response.headers["x-total-count"] == str(len(expected.split()))


async def test_an_offset_page_offers_a_cursor_to_continue(
    engine: AsyncEngine, as_alice: httpx.AsyncClient, alice: str
) -> None:
    await add_tasks(engine, alice, 5)
    by_offset = await as_alice.get(f"/api/{alice}/tasks", params={"limit": 2, "offset": 1})
    assert titles(by_offset.json()) == ["task 2", "task 3"]
    cursor = by_offset.headers["x-next-cursor"]
    rest = await as_alice.get(f"/api/{alice}/tasks", params={"cursor": cursor})
    assert titles(rest.json()) == ["task 4", "task 5"]
    assert rest.headers["x-total-count"] == "5"
    assert "x-next-cursor" not in rest.headers


async def test_a_cursor_past_the_end_is_an_empty_page_with_the_total(
    engine: AsyncEngine, as_alice: httpx.AsyncClient, alice: str
) -> None:
    await add_tasks(engine, alice, 3)
    first = await as_alice.get(f"/api/{alice}/tasks", params={"limit": 2})
    last = (await as_alice.get(f"/api/{alice}/tasks", params={"offset": 2})).json()[0]
    assert (await as_alice.delete(f"/api/{alice}/tasks/{last['id']}")).status_code == 204
    rest = await as_alice.get(
        f"/api/{alice}/tasks", params={"cursor": first.headers["x-next-cursor"]}
    )
    assert rest.status_code == 200
    assert rest.json() == []
    assert rest.headers["x-total-count"] == "2"
    assert "x-next-cursor" not in rest.headers


async def test_another_users_cursor_shows_only_the_callers_tasks(
    engine: AsyncEngine,
    as_alice: httpx.AsyncClient,
    as_bob: httpx.AsyncClient,
    alice: str,
    bob: str,
) -> None:
    """A cursor is a position, not a permission: the query is still the caller's tasks."""
    await add_tasks(engine, bob, 4)
    await add_tasks(engine, alice, 4)
    bobs = await as_bob.get(f"/api/{bob}/tasks", params={"limit": 1})
    cursor = bobs.headers["x-next-cursor"]
    with_bobs_cursor = await as_alice.get(f"/api/{alice}/tasks", params={"cursor": cursor})
    assert with_bobs_cursor.status_code == 200
    assert {task["user_id"] for task in with_bobs_cursor.json()} == {alice}
    assert with_bobs_cursor.headers["x-total-count"] == "4"
    refused = await as_alice.get(f"/api/{bob}/tasks", params={"cursor": cursor})
    assert refused.status_code == 403


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor",
        "%%%",
        b64(b"1700000000000000"),
        b64(b"1700000000000000.0"),
        b64(b"1700000000000000.-5"),
        b64(b"1700000000000000.9223372036854775808"),
        b64(b"999999999999999999.1"),  # past the year 9999
        b64(b"1.5.1"),
        b64(b"abc.1"),
        b64(b" 1.1"),
        b64("١٢.٣".encode()),
        b64(b"\xff\xfe"),
        "A" * 65,
    ],
)
async def test_a_cursor_the_service_did_not_write_is_400_and_changes_nothing(
    engine: AsyncEngine,
    as_alice: httpx.AsyncClient,
    alice: str,
    cursor: str,
    snapshot: Callable[[], Awaitable[list[Any]]],
) -> None:
    await add_tasks(engine, alice, 2)
    before = await snapshot()
    response = await as_alice.get(f"/api/{alice}/tasks", params={"cursor": cursor})
    assert response.status_code == 400
    assert [error["loc"] for error in response.json()["detail"]] == [["query", "cursor"]]
    assert await snapshot() == before


async def test_cursor_and_offset_together_are_400(
    engine: AsyncEngine, as_alice: httpx.AsyncClient, alice: str
) -> None:
    await add_tasks(engine, alice, 3)
    first = await as_alice.get(f"/api/{alice}/tasks", params={"limit": 1})
    cursor = first.headers["x-next-cursor"]
    response = await as_alice.get(f"/api/{alice}/tasks", params={"cursor": cursor, "offset": 1})
    assert response.status_code == 400
    assert [error["loc"] for error in response.json()["detail"]] == [["query", "offset"]]
    zero = await as_alice.get(f"/api/{alice}/tasks", params={"cursor": cursor, "offset": 0})
    assert titles(zero.json()) == ["task 2", "task 3"]


async def counts(client: httpx.AsyncClient, owner: str) -> tuple[str, str, str]:
    path = f"/api/{owner}/tasks?limit=1"
    return (
        (await client.get(path)).headers["x-total-count"],
        (await client.get(f"{path}&completed=true")).headers["x-total-count"],
        (await client.get(f"{path}&completed=false")).headers["x-total-count"],
    )


async def test_totals_follow_every_write(as_alice: httpx.AsyncClient, alice: str) -> None:
    tasks = f"/api/{alice}/tasks"
    created = [
        (await as_alice.post(tasks, json={"title": f"t{n}", "completed": n == 0})).json()["id"]
        for n in range(3)
    ]
    assert await counts(as_alice, alice) == ("3", "1", "2")
    await as_alice.patch(f"{tasks}/{created[1]}/complete")  # toggle on
    assert await counts(as_alice, alice) == ("3", "2", "1")
    await as_alice.patch(f"{tasks}/{created[1]}", json={"title": "renamed"})
    assert await counts(as_alice, alice) == ("3", "2", "1")
    await as_alice.put(f"{tasks}/{created[0]}", json={"title": "t0", "completed": False})
    assert await counts(as_alice, alice) == ("3", "1", "2")
    await as_alice.patch(f"{tasks}/{created[2]}", json={"completed": True})
    assert await counts(as_alice, alice) == ("3", "2", "1")
    await as_alice.delete(f"{tasks}/{created[2]}")
    assert await counts(as_alice, alice) == ("2", "1", "1")
    await as_alice.delete(f"{tasks}/{created[0]}")
    await as_alice.delete(f"{tasks}/{created[1]}")
    assert await counts(as_alice, alice) == ("0", "0", "0")


async def test_concurrent_writes_keep_the_total_exact(
    engine: AsyncEngine, as_alice: httpx.AsyncClient, alice: str
) -> None:
    tasks = f"/api/{alice}/tasks"
    made = await asyncio.gather(
        *(as_alice.post(tasks, json={"title": f"t{n}", "completed": n % 2 == 0}) for n in range(20))
    )
    ids = [response.json()["id"] for response in made]
    await asyncio.gather(*(as_alice.patch(f"{tasks}/{task_id}/complete") for task_id in ids))
    await asyncio.gather(*(as_alice.delete(f"{tasks}/{task_id}") for task_id in ids[:5]))
    async with engine.connect() as conn:
        real = (
            await conn.execute(
                text(
                    "SELECT count(*), count(*) FILTER (WHERE completed) FROM tasks"
                    " WHERE user_id = :owner"
                ),
                {"owner": alice},
            )
        ).one()
    assert await counts(as_alice, alice) == (str(real[0]), str(real[1]), str(real[0] - real[1]))
    assert real[0] == 15


def test_the_migration_counts_the_tasks_already_there(
    create_database: Callable[[str], str],
) -> None:
    url = create_database("tasks_counts_backfill")
    command.upgrade(alembic_config(MIGRATIONS_DIR, url), "0001")

    async def run(statement: str) -> list[Any]:
        conn = await asyncpg.connect(url)
        try:
            return [tuple(row) for row in await conn.fetch(statement)]
        finally:
            await conn.close()

    asyncio.run(
        run(
            "INSERT INTO tasks (user_id, title, completed) VALUES"
            " ('a', 'x', true), ('a', 'y', false), ('a', 'z', true), ('b', 'w', false)"
        )
    )
    upgrade_to_head(MIGRATIONS_DIR, url)
    counted = "SELECT user_id, total, completed FROM task_counts ORDER BY user_id"
    assert asyncio.run(run(counted)) == [("a", 3, 2), ("b", 1, 0)]


async def list_totals_are_exact(engine: AsyncEngine, client: httpx.AsyncClient, owner: str) -> int:
    """Every list's and the Inbox's `X-Total-Count` (all, completed, open) against a count of
    the rows; returns how many tasks the lists hold."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT coalesce(list_id, 0), count(*), count(*) FILTER (WHERE completed)"
                    " FROM tasks WHERE user_id = :owner GROUP BY 1"
                ),
                {"owner": owner},
            )
        ).all()
    real = {key: (total, done) for key, total, done in rows}
    lists = (await client.get(f"/api/{owner}/lists")).json()
    for key in [0, *(entry["id"] for entry in lists)]:
        scope = "inbox=true" if key == 0 else f"list_id={key}"
        path = f"/api/{owner}/tasks?limit=1&{scope}"
        total, done = real.get(key, (0, 0))
        seen = [
            (await client.get(f"{path}{extra}")).headers["x-total-count"]
            for extra in ("", "&completed=true", "&completed=false", "&sort=position")
        ]
        assert seen == [str(total), str(done), str(total - done), str(total)], scope
    return sum(total for total, _ in real.values())


async def test_list_totals_follow_moves_completions_the_trash_and_list_deletion(
    engine: AsyncEngine, as_alice: httpx.AsyncClient, alice: str
) -> None:
    tasks, lists = f"/api/{alice}/tasks", f"/api/{alice}/lists"
    home = (await as_alice.post(lists, json={"name": "Home"})).json()["id"]
    work = (await as_alice.post(lists, json={"name": "Work"})).json()["id"]
    made = await asyncio.gather(
        *(
            as_alice.post(
                tasks,
                json={"title": f"t{n}", "completed": n % 3 == 0, "list_id": [None, home][n % 2]},
            )
            for n in range(24)
        )
    )
    ids = [response.json()["id"] for response in made]
    assert await list_totals_are_exact(engine, as_alice, alice) == 24
    await asyncio.gather(
        *(as_alice.post(f"{tasks}/{task_id}/move", json={"list_id": work}) for task_id in ids[:6]),
        *(as_alice.patch(f"{tasks}/{task_id}", json={"list_id": None}) for task_id in ids[6:10]),
        *(as_alice.patch(f"{tasks}/{task_id}/complete") for task_id in ids[10:16]),
    )
    assert await list_totals_are_exact(engine, as_alice, alice) == 24
    await asyncio.gather(*(as_alice.delete(f"{tasks}/{task_id}") for task_id in ids[16:20]))
    assert await list_totals_are_exact(engine, as_alice, alice) == 20
    await as_alice.post(f"{tasks}/{ids[16]}/restore")
    assert (await as_alice.delete(f"{lists}/{work}?with_tasks=true")).status_code == 204
    assert await list_totals_are_exact(engine, as_alice, alice) == 15


def test_the_list_counts_migration_counts_a_write_racing_its_backfill(
    create_database: Callable[[str], str],
) -> None:
    """Migration 0010 fills each user's counts with no table lock, while writes go on: a write
    committed while the backfill waits for its user is counted exactly once."""
    url = create_database("tasks_list_counts_backfill")
    command.upgrade(alembic_config(MIGRATIONS_DIR, url), "0009")
    owners = [f"user{n:04}" for n in range(1500)]

    async def race() -> list[Any]:
        conn, writer = await asyncpg.connect(url), await asyncpg.connect(url)
        try:
            await conn.execute(
                "INSERT INTO tasks (user_id, title, completed)"
                " SELECT owner, 'seeded', n % 2 = 0 FROM unnest($1::text[]) AS owner,"
                " generate_series(1, 3) AS n",
                owners,
            )
            migrating = asyncio.create_task(asyncio.to_thread(upgrade_to_head, MIGRATIONS_DIR, url))
            while not await conn.fetchval(
                "SELECT count(*) = 4 FROM pg_trigger WHERE tgname LIKE 'task_list_counts_%'"
            ):
                assert not migrating.done(), "the migration ended before the write began"
                await asyncio.sleep(0.005)
            # The last user the backfill reaches: a write of theirs holds the user's lock.
            transaction = writer.transaction()
            await transaction.start()
            await writer.execute(
                "INSERT INTO tasks (user_id, title, completed) VALUES ($1, 'racing', true)",
                owners[-1],
            )
            waiting = (
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND query LIKE '%FOR UPDATE%'"
            )
            while not await conn.fetchval(waiting):
                assert not migrating.done(), "the backfill never waited for the writer"
                await asyncio.sleep(0.005)
            await transaction.commit()
            await migrating
            return [
                tuple(row)
                for row in await conn.fetch(
                    "SELECT user_id, list_key, total, completed FROM task_list_counts"
                    " ORDER BY user_id"
                )
            ]
        finally:
            await conn.close()
            await writer.close()

    counted = asyncio.run(race())
    assert counted == [(owner, 0, 3, 1) for owner in owners[:-1]] + [(owners[-1], 0, 4, 2)]

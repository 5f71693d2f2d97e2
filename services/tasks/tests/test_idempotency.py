"""POST /api/{user_id}/tasks with an `Idempotency-Key`: a retried create makes one task.

Each test checks the tables themselves, not only the answers: a replay must create nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from todo_shared.app import service_state
from todo_tasks import repository
from todo_tasks.schemas.task import TaskCreate
from todo_tasks.state import TasksState

Snapshot = Callable[[], Awaitable[list[Any]]]
BODY = {"title": "Buy milk", "description": "2 litres"}


@pytest.fixture
def keys(engine: AsyncEngine) -> Snapshot:
    """Every row of the key table, to prove a refused request recorded nothing."""

    async def rows() -> list[Any]:
        async with engine.connect() as conn:
            result = await conn.execute(
                text("SELECT * FROM task_idempotency_keys ORDER BY user_id, key")
            )
            return [tuple(row) for row in result]

    return rows


async def _tasks_of(engine: AsyncEngine, owner: str) -> list[Any]:
    async with engine.connect() as conn:
        result = await conn.execute(
            text("SELECT id, title, description, completed FROM tasks WHERE user_id = :owner"),
            {"owner": owner},
        )
        return [tuple(row) for row in result]


async def _age_keys(engine: AsyncEngine, owner: str, hours: int) -> None:
    """Make `owner`'s keys `hours` older, as if the time had passed."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE task_idempotency_keys SET created_at = created_at - make_interval("
                "hours => :hours) WHERE user_id = :owner"
            ),
            {"owner": owner, "hours": hours},
        )


def _post(
    client: httpx.AsyncClient, owner: str, key: str, body: dict[str, Any] = BODY
) -> Awaitable[httpx.Response]:
    return client.post(f"/api/{owner}/tasks", json=body, headers={"Idempotency-Key": key})


async def test_first_create_records_the_key(
    as_alice: httpx.AsyncClient, alice: str, engine: AsyncEngine, keys: Snapshot
) -> None:
    response = await _post(as_alice, alice, "order-1")
    assert response.status_code == 201
    task = response.json()
    assert response.headers["location"] == f"/api/{alice}/tasks/{task['id']}"
    assert "idempotent-replayed" not in response.headers
    assert (task["title"], task["description"], task["completed"]) == (
        "Buy milk",
        "2 litres",
        False,
    )
    assert await _tasks_of(engine, alice) == [(task["id"], "Buy milk", "2 litres", False)]
    mine = [row for row in await keys() if row[0] == alice]
    assert [(row[1], row[3]) for row in mine] == [("order-1", task["id"])]


async def test_a_retry_answers_the_same_task_and_creates_nothing(
    as_alice: httpx.AsyncClient, alice: str, engine: AsyncEngine
) -> None:
    first = await _post(as_alice, alice, "order-1")
    # The same request as the service reads it: defaults spelled out, unknown fields ignored.
    same = {**BODY, "completed": False, "colour": "red"}
    for body in (BODY, same):
        retry = await _post(as_alice, alice, "order-1", body)
        assert retry.status_code == 201
        assert retry.json() == first.json()
        assert retry.headers["location"] == first.headers["location"]
        assert retry.headers["idempotent-replayed"] == "true"
    assert len(await _tasks_of(engine, alice)) == 1


async def test_a_key_reused_for_another_body_is_409_and_changes_nothing(
    as_alice: httpx.AsyncClient, alice: str, engine: AsyncEngine, snapshot: Snapshot, keys: Snapshot
) -> None:
    first = await _post(as_alice, alice, "order-1")
    before = (await snapshot(), await keys())
    for body in ({"title": "Buy bread"}, {**BODY, "completed": True}, {"title": "Buy milk"}):
        response = await _post(as_alice, alice, "order-1", body)
        assert response.status_code == 409
        assert response.json() == {
            "detail": "Idempotency-Key already used with a different request"
        }
    assert (await snapshot(), await keys()) == before
    assert [row[0] for row in await _tasks_of(engine, alice)] == [first.json()["id"]]


async def test_keys_belong_to_their_user(
    as_alice: httpx.AsyncClient,
    as_bob: httpx.AsyncClient,
    alice: str,
    bob: str,
    engine: AsyncEngine,
) -> None:
    mine = await _post(as_alice, alice, "shared-key")
    theirs = await _post(as_bob, bob, "shared-key", {"title": "Bob's"})
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["user_id"] == bob
    assert [row[1] for row in await _tasks_of(engine, bob)] == ["Bob's"]
    again = await _post(as_alice, alice, "shared-key")
    assert again.json() == mine.json()


@pytest.mark.parametrize(
    "key",
    [b"", b"k" * 256, "caf\u00e9".encode("latin-1"), b"tab\there", b"nul\x7f"],
    ids=["empty", "256 characters", "not ASCII", "tab", "DEL"],
)
async def test_a_bad_key_is_400_and_changes_nothing(
    as_alice: httpx.AsyncClient, alice: str, snapshot: Snapshot, keys: Snapshot, key: bytes
) -> None:
    before = (await snapshot(), await keys())
    response = await as_alice.post(
        f"/api/{alice}/tasks", json=BODY, headers=[(b"Idempotency-Key", key)]
    )
    assert response.status_code == 400
    assert [error["loc"] for error in response.json()["detail"]] == [["header", "Idempotency-Key"]]
    assert (await snapshot(), await keys()) == before


async def test_the_longest_key_is_accepted(as_alice: httpx.AsyncClient, alice: str) -> None:
    key = "".join(chr(c) for c in range(0x20, 0x7F)) * 3  # every printable character
    assert (await _post(as_alice, alice, key[:255])).status_code == 201
    assert (await _post(as_alice, alice, key[:255])).headers["idempotent-replayed"] == "true"


async def test_a_refused_body_records_no_key(
    as_alice: httpx.AsyncClient, alice: str, keys: Snapshot
) -> None:
    before = await keys()
    assert (await _post(as_alice, alice, "order-1", {"title": ""})).status_code == 400
    assert await keys() == before
    fixed = await _post(as_alice, alice, "order-1")
    assert fixed.status_code == 201
    assert "idempotent-replayed" not in fixed.headers


async def test_concurrent_duplicates_create_one_task(
    as_alice: httpx.AsyncClient, alice: str, engine: AsyncEngine
) -> None:
    responses = await asyncio.gather(*(_post(as_alice, alice, "double-click") for _ in range(8)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum("idempotent-replayed" not in r.headers for r in responses) == 1
    assert len(await _tasks_of(engine, alice)) == 1


async def test_a_replay_answers_the_task_as_it_is_now(
    as_alice: httpx.AsyncClient, alice: str
) -> None:
    created = (await _post(as_alice, alice, "order-1")).json()
    path = f"/api/{alice}/tasks/{created['id']}"
    changed = (await as_alice.patch(path, json={"completed": True})).json()
    replay = await _post(as_alice, alice, "order-1")
    assert replay.status_code == 201
    assert replay.json() == changed
    assert replay.headers["idempotent-replayed"] == "true"


async def test_a_replay_after_the_task_was_deleted_is_409(
    as_alice: httpx.AsyncClient, alice: str, engine: AsyncEngine
) -> None:
    created = (await _post(as_alice, alice, "order-1")).json()
    assert (await as_alice.delete(f"/api/{alice}/tasks/{created['id']}")).status_code == 204
    replay = await _post(as_alice, alice, "order-1")
    assert replay.status_code == 409
    assert replay.json() == {
        "detail": "the task created with this Idempotency-Key has been deleted"
    }
    assert await _tasks_of(engine, alice) == []


async def test_an_expired_key_creates_anew(
    as_alice: httpx.AsyncClient, alice: str, engine: AsyncEngine, keys: Snapshot
) -> None:
    first = (await _post(as_alice, alice, "order-1")).json()
    await _age_keys(engine, alice, 23)
    assert (await _post(as_alice, alice, "order-1")).json() == first  # still remembered
    await _age_keys(engine, alice, 2)
    again = await _post(as_alice, alice, "order-1", {"title": "Another"})
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert again.json()["id"] != first["id"]
    assert len(await _tasks_of(engine, alice)) == 2
    mine = [row for row in await keys() if row[0] == alice]
    assert [(row[1], row[3]) for row in mine] == [("order-1", again.json()["id"])]


async def test_keyed_creates_delete_other_expired_keys(
    as_alice: httpx.AsyncClient,
    as_bob: httpx.AsyncClient,
    alice: str,
    bob: str,
    engine: AsyncEngine,
    keys: Snapshot,
) -> None:
    await _post(as_bob, bob, "old")
    await _post(as_bob, bob, "recent")
    await _age_keys(engine, bob, 25)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE task_idempotency_keys SET created_at = now() WHERE key = 'recent'"
                " AND user_id = :bob"
            ),
            {"bob": bob},
        )
    # Every expired key in the table, however many earlier tests left, goes in batches.
    for n in range(50):
        await _post(as_alice, alice, f"purge-{n}", {"title": f"t{n}"})
    assert [row[1] for row in await keys() if row[0] == bob] == ["recent"]
    assert len(await _tasks_of(engine, bob)) == 2  # the keys go, never the tasks


async def test_without_a_key_nothing_is_recorded(
    as_alice: httpx.AsyncClient, alice: str, engine: AsyncEngine, keys: Snapshot
) -> None:
    for _ in range(2):
        response = await as_alice.post(f"/api/{alice}/tasks", json=BODY)
        assert response.status_code == 201
        assert "idempotent-replayed" not in response.headers
    assert len(await _tasks_of(engine, alice)) == 2
    assert [row for row in await keys() if row[0] == alice] == []


async def test_a_retry_spanning_a_deploy_that_adds_a_field_still_replays(
    app: FastAPI, as_alice: httpx.AsyncClient, alice: str, engine: AsyncEngine
) -> None:
    """The first attempt reached the old deploy; its retry reaches one whose body has gained a
    defaulted field. Only the fingerprint differs between the two here (the column itself is
    services/tasks/tests/test_data_path.py's). The retry means the same, so it replays
    instead of a 409."""

    class Deployed(TaskCreate):
        estimate: int | None = None

    first = await _post(as_alice, alice, "spans-a-deploy")
    assert first.status_code == 201
    database = service_state(app, TasksState).database
    retried, replayed = await repository.create_task_with_key(
        database,
        alice,
        "spans-a-deploy",
        Deployed.model_validate(BODY).fingerprint(),
        TaskCreate.model_validate(BODY),
    )
    assert (retried["id"], replayed) == (first.json()["id"], True)
    assert len(await _tasks_of(engine, alice)) == 1


async def test_sending_a_default_is_the_same_request_as_omitting_it(
    as_alice: httpx.AsyncClient, alice: str, engine: AsyncEngine
) -> None:
    first = await _post(as_alice, alice, "defaults", {"title": "Buy milk"})
    explicit = {"title": "Buy milk", "description": None, "completed": False}
    retry = await _post(as_alice, alice, "defaults", explicit)
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == first.json()["id"]
    assert len(await _tasks_of(engine, alice)) == 1

"""A task is declared once: a column added to the table and to the schemas is selected,
inserted, replaced, patched and returned by every statement without an edit to the repository.

The throw-away `estimate` column lives in a database of its own (the shared one keeps the real
schema), and the extended declarations stand in for the service's only for these tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from typing_extensions import TypedDict

from todo_shared.db import Database, open_database
from todo_tasks import repository
from todo_tasks.repository import TaskStatements
from todo_tasks.schemas.task import TaskBase, TaskPatch, TaskPublic
from todo_tasks.settings import Settings


class EstimatedTask(TaskPublic):
    estimate: int | None


class EstimatedBase(TaskBase):
    estimate: int | None = None


class EstimatedPatch(TaskPatch):
    estimate: int | None = None


@pytest.fixture(scope="module")
def estimated_url(migrated_database: Callable[[str], str]) -> str:
    return migrated_database("tasks_estimate")


@pytest.fixture
async def db(
    estimated_url: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Database]:
    async with open_database(settings.model_copy(update={"database_url": estimated_url})) as db:
        # The migration a real field would come with.
        await db.fetchval("ALTER TABLE tasks ADD COLUMN IF NOT EXISTS estimate integer")
        statements = TaskStatements.for_schemas(EstimatedTask, EstimatedBase)
        monkeypatch.setattr(repository, "STATEMENTS", statements)
        yield db


async def test_an_added_field_is_written_and_read_by_every_statement(
    db: Database, alice: str
) -> None:
    created = await repository.create_task(db, alice, EstimatedBase(title="Plan", estimate=3))
    assert created["title"] == "Plan"
    assert created.get("estimate") == 3
    task_id = created["id"]

    read = await repository.get_task(db, alice, task_id)
    assert read is not None
    assert read.get("estimate") == 3

    patched = await repository.update_task(db, alice, task_id, EstimatedPatch(estimate=5))
    assert patched is not None
    assert (patched["title"], patched.get("estimate")) == ("Plan", 5)
    # A patch of another field leaves the new one alone.
    patched = await repository.update_task(db, alice, task_id, EstimatedPatch(title="Plan B"))
    assert patched is not None
    assert (patched["title"], patched.get("estimate")) == ("Plan B", 5)

    toggled = await repository.set_completed(db, alice, task_id, None)
    assert toggled is not None
    assert (toggled["completed"], toggled.get("estimate")) == (True, 5)

    keep = repository.TaskFilter()
    page, total, after = await repository.list_tasks(db, alice, keep=keep, limit=10, offset=0)
    assert [(task["id"], task.get("estimate")) for task in page] == [(task_id, 5)]
    assert (total, after) == (1, None)

    # PUT replaces every writable field, the new one included: omitted is its default.
    replaced = await repository.replace_task(db, alice, task_id, EstimatedBase(title="Plan C"))
    assert replaced is not None
    assert (replaced["title"], replaced["completed"], replaced.get("estimate")) == (
        "Plan C",
        False,
        None,
    )


async def test_an_added_field_goes_through_a_keyed_create_and_its_replay(
    db: Database, alice: str
) -> None:
    body = EstimatedBase(title="Keyed", estimate=8)
    first, replayed = await repository.create_task_with_key(db, alice, "k1", b"fp", body)
    assert (first.get("estimate"), replayed) == (8, False)
    again, replayed = await repository.create_task_with_key(db, alice, "k1", b"fp", body)
    assert (again["id"], again.get("estimate"), replayed) == (first["id"], 8, True)


def test_a_server_set_or_undeclared_field_cannot_be_written() -> None:
    class OwnerWritable(TaskBase):
        user_id: str = ""

    class Undeclared(TaskBase):
        estimate: int | None = None

    with pytest.raises(ValueError, match="user_id"):
        TaskStatements.for_schemas(TaskPublic, OwnerWritable)
    with pytest.raises(ValueError, match="estimate"):
        TaskStatements.for_schemas(TaskPublic, Undeclared)
    with pytest.raises(ValueError, match="estimate"):
        repository.STATEMENTS.patch(["title", "estimate"])


def test_a_column_name_that_is_not_an_identifier_is_refused() -> None:
    columns = dict.fromkeys(TaskPublic.__annotations__, object)
    Injected = TypedDict("Injected", {**columns, "x; DROP TABLE tasks": str})  # type: ignore[misc]
    with pytest.raises(ValueError, match="not a column name"):
        TaskStatements.for_schemas(Injected, TaskBase)

"""The change feed's entries and pages (`GET /api/{user_id}/changes` and the live stream)."""

from __future__ import annotations

from typing import Literal

from typing_extensions import TypedDict

from todo_tasks.schemas.list import ListPublic
from todo_tasks.schemas.task import TaskPublic


class TaskUpserted(TypedDict):
    """A change feed entry: the task was created or changed, and is now `task`."""

    op: Literal["upsert"]
    type: Literal["task"]
    id: int
    version: int
    task: TaskPublic


class TaskDeleted(TypedDict):
    """A change feed entry: the task was deleted (a tombstone, kept CHANGE_RETENTION_DAYS)."""

    op: Literal["delete"]
    type: Literal["task"]
    id: int
    version: int


class ListUpserted(TypedDict):
    """A change feed entry: the list was created or changed, and is now `list`."""

    op: Literal["upsert"]
    type: Literal["list"]
    id: int
    version: int
    list: ListPublic


class ListDeleted(TypedDict):
    """A change feed entry: the list was deleted."""

    op: Literal["delete"]
    type: Literal["list"]
    id: int
    version: int


Change = TaskUpserted | TaskDeleted | ListUpserted | ListDeleted


class ChangesPage(TypedDict):
    """A page of the change feed: apply `changes` in order, then resume at `cursor`."""

    changes: list[Change]
    cursor: str
    has_more: bool

"""Table models of the tasks database."""

from todo_tasks.models.idempotency import TaskIdempotencyKey
from todo_tasks.models.list import TaskList
from todo_tasks.models.sync import TaskSync, TaskTombstone, TaskTrash
from todo_tasks.models.task import Task, TaskCount, TaskListCount

__all__ = [
    "Task",
    "TaskCount",
    "TaskIdempotencyKey",
    "TaskList",
    "TaskListCount",
    "TaskSync",
    "TaskTombstone",
    "TaskTrash",
]

"""Table models of the tasks database."""

from todo_tasks.models.task import Task

__all__ = ["Task"]

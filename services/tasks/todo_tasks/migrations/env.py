"""Alembic environment of the tasks database (the shared runner does the work)."""

from sqlmodel import SQLModel

import todo_tasks.models  # noqa: F401  # registers the tables on the metadata
from todo_shared.migrations import run_env

run_env(SQLModel.metadata, lock_name="todo_tasks")

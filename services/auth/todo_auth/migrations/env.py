"""Alembic environment: the shared runner, pointed at this service's tables."""

from sqlmodel import SQLModel

import todo_auth.models  # noqa: F401  # registers the tables on SQLModel.metadata
from todo_shared.migrations import run_env

run_env(SQLModel.metadata, lock_name="todo_auth")

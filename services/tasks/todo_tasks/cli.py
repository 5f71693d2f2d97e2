"""`todo-tasks serve | migrate`: the container's command and the operator's tool."""

from __future__ import annotations

from pathlib import Path

from todo_shared.cli import service_cli
from todo_tasks.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

main = service_cli(
    "todo-tasks",
    description="The Todo tasks service.",
    settings_class=Settings,
    app_factory="todo_tasks.main:app_from_environment",
    migrations_dir=MIGRATIONS_DIR,
)

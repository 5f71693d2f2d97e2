"""`todo-tasks serve` (migrate, then uvicorn) and `todo-tasks migrate`: the container's entry."""

from __future__ import annotations

import argparse
from pathlib import Path

from todo_shared.cli import load_settings, migrate, serve
from todo_tasks.settings import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="todo-tasks", description="The Todo tasks service.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="apply migrations, then serve with uvicorn")
    commands.add_parser("migrate", help="apply migrations and exit")
    args = parser.parse_args(argv)
    settings = load_settings(Settings, parser.prog)
    if args.command == "migrate":
        migrate(settings, MIGRATIONS_DIR, parser.prog)
    else:
        serve("todo_tasks.main:app", settings, MIGRATIONS_DIR, parser.prog)

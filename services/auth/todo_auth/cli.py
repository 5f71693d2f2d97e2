"""`todo-auth serve | migrate | rotate-keys`: the container's command and the operator's tools."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from pathlib import Path

from todo_auth.keys import rotate_keys
from todo_auth.settings import Settings
from todo_shared.cli import load_settings, migrate, serve
from todo_shared.observability import configure_logging

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="todo-auth")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="apply migrations, then serve with uvicorn")
    commands.add_parser("migrate", help="apply pending database migrations")
    rotate = commands.add_parser(
        "rotate-keys",
        help="publish a new key that signs after KEY_ACTIVATION_DELAY_SECONDS; keys no live "
        "token can name are deleted",
    )
    rotate.add_argument(
        "--now", action="store_true", help="sign with the new key at once (no pre-publication)"
    )
    args = parser.parse_args(argv)
    settings = load_settings(Settings, parser.prog)
    if args.command == "serve":
        serve("todo_auth.main:app", settings, MIGRATIONS_DIR, parser.prog)
    elif args.command == "migrate":
        migrate(settings, MIGRATIONS_DIR, parser.prog)
    else:
        configure_logging(settings.log_level)  # `migrate` (and so `serve`) does its own
        asyncio.run(rotate_keys(settings, now=args.now))

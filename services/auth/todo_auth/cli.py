"""`todo-auth serve | migrate | rotate-keys`: the container's command and the operator's tools."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from todo_auth.keys import rotate_keys
from todo_auth.settings import Settings
from todo_shared.cli import Command, service_cli
from todo_shared.observability import configure_logging

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _rotate_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--now", action="store_true", help="sign with the new key at once (no pre-publication)"
    )


def _rotate(settings: Settings, args: argparse.Namespace) -> None:
    configure_logging(settings.log_level)  # `migrate` (and so `serve`) does its own
    asyncio.run(rotate_keys(settings, now=args.now))


main = service_cli(
    "todo-auth",
    description="The Todo auth service.",
    settings_class=Settings,
    app_factory="todo_auth.main:app_from_environment",
    migrations_dir=MIGRATIONS_DIR,
    commands=[
        Command(
            "rotate-keys",
            help="publish a new key that signs after KEY_ACTIVATION_DELAY_SECONDS; keys no live "
            "token can name are deleted",
            run=_rotate,
            add_options=_rotate_options,
        )
    ],
)

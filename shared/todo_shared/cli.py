"""Each service's command line (`serve`, `migrate`, and its own commands), built one way:
load the settings, wait for the database, migrate, then hand over to uvicorn."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar
from urllib.parse import urlsplit

import asyncpg
from pydantic import ValidationError

from todo_shared.db import asyncpg_connect_args
from todo_shared.errors import is_outage
from todo_shared.migrations import upgrade_to_head
from todo_shared.observability import configure_logging
from todo_shared.server import prepare_directory
from todo_shared.settings import ServiceSettings

logger = logging.getLogger("todo.startup")

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)

_DATABASE_RETRY_SECONDS = 1.0


def load_settings(settings_class: type[SettingsT], prog: str) -> SettingsT:
    """The settings, or one line naming each bad setting and a non-zero exit (no traceback)."""
    try:
        return settings_class()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            name = "_".join(str(part) for part in error["loc"]).upper()
            problems.append(f"{name}: {message}" if name else message)
        raise SystemExit(f"{prog}: configuration error: {'; '.join(problems)}") from None


def wait_for_database(settings: ServiceSettings, prog: str) -> None:
    """Return once the database accepts a connection, retrying for DB_STARTUP_TIMEOUT_SECONDS
    (a stack whose PostgreSQL starts slowly still comes up); else exit with one line naming
    the host and port."""
    url, connect_args = asyncpg_connect_args(settings)
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    parts = urlsplit(settings.database_url)
    where = f"{parts.hostname}:{parts.port or 5432}"
    deadline = time.monotonic() + settings.db_startup_timeout_seconds

    async def connect() -> None:
        connection = await asyncpg.connect(dsn, **connect_args)
        await connection.close()

    while True:
        try:
            asyncio.run(connect())
            return
        except Exception as exc:
            error = type(exc).__name__
            if not is_outage(exc):
                message = f"{prog}: cannot use the database at {where}: {error}: {exc}"
                raise SystemExit(message) from None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SystemExit(
                    f"{prog}: database unreachable at {where} "
                    f"(DB_STARTUP_TIMEOUT_SECONDS={settings.db_startup_timeout_seconds:g}): {error}"
                ) from None
            logger.warning("database not reachable yet", extra={"at": where, "error": error})
            time.sleep(min(_DATABASE_RETRY_SECONDS, remaining))


def migrate(settings: ServiceSettings, migrations_dir: Path, prog: str) -> None:
    configure_logging(settings.log_level)
    wait_for_database(settings, prog)
    upgrade_to_head(migrations_dir, settings.database_url)


def metrics_directory(settings: ServiceSettings, prog: str) -> Path:
    """Where the workers keep their metrics: METRICS_DIR, else a directory of this service and
    port's own (so two services on one host never share one)."""
    if settings.metrics_dir:
        return Path(settings.metrics_dir)
    return Path(tempfile.gettempdir()) / f"{prog}-metrics-{settings.port}"


def serve(app_factory: str, settings: ServiceSettings, migrations_dir: Path, prog: str) -> None:
    """Prestart (migrations, safe with replicas starting together), then exec uvicorn (through
    `todo_shared.server`, which serves the metrics endpoint beside it), each of whose workers
    builds the app with `app_factory` (`module:function`)."""
    migrate(settings, migrations_dir, prog)
    directory = metrics_directory(settings, prog)
    prepare_directory(directory)
    # Read by prometheus-client in the processes exec'd from here (the workers inherit it).
    # Not a setting's own name: this process, which imported prometheus-client already, and
    # any other command of the service (`migrate`, `rotate-keys`) must not write there.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    # The interpreter running this command has todo_shared and uvicorn, whatever PATH says.
    args = [
        sys.executable,
        "-m",
        "todo_shared.server",
        app_factory,
        "--host",
        settings.host,
        "--port",
        str(settings.port),
        "--workers",
        str(settings.web_concurrency),
        "--metrics-port",
        str(settings.metrics_port),
    ]
    sys.stdout.flush()
    os.execvp(args[0], args)  # noqa: S606


def _no_options(_: argparse.ArgumentParser) -> None:
    """A command without options of its own."""


@dataclass(frozen=True)
class Command(Generic[SettingsT]):
    """A command a service adds beside `serve` and `migrate` (auth's `rotate-keys`)."""

    name: str
    help: str
    run: Callable[[SettingsT, argparse.Namespace], None]
    add_options: Callable[[argparse.ArgumentParser], None] = _no_options


def service_cli(
    prog: str,
    *,
    description: str,
    settings_class: type[SettingsT],
    app_factory: str,
    migrations_dir: Path,
    commands: Sequence[Command[SettingsT]] = (),
) -> Callable[[Sequence[str] | None], None]:
    """The `main` of a service's console script: `serve`, `migrate`, then `commands`."""
    by_name = {command.name: command for command in commands}

    def main(argv: Sequence[str] | None = None) -> None:
        parser = argparse.ArgumentParser(prog=prog, description=description)
        subcommands = parser.add_subparsers(dest="command", required=True)
        subcommands.add_parser("serve", help="apply migrations, then serve with uvicorn")
        subcommands.add_parser("migrate", help="apply pending database migrations and exit")
        for command in commands:
            command.add_options(subcommands.add_parser(command.name, help=command.help))
        args = parser.parse_args(argv)
        settings = load_settings(settings_class, prog)
        if args.command == "serve":
            serve(app_factory, settings, migrations_dir, prog)
        elif args.command == "migrate":
            migrate(settings, migrations_dir, prog)
        else:
            by_name[args.command].run(settings, args)

    return main

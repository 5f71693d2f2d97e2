"""What each service's command line does before serving: migrate, then hand over to uvicorn."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from todo_shared.migrations import upgrade_to_head
from todo_shared.observability import configure_logging
from todo_shared.settings import ServiceSettings


def migrate(settings: ServiceSettings, migrations_dir: Path) -> None:
    configure_logging(settings.log_level)
    upgrade_to_head(migrations_dir, settings.database_url)


def serve(app_path: str, settings: ServiceSettings, migrations_dir: Path) -> None:
    """Prestart (migrations, safe with replicas starting together), then exec uvicorn."""
    migrate(settings, migrations_dir)
    host = os.environ.get("HOST", "0.0.0.0")  # noqa: S104  # inside a container
    # The interpreter running this command has uvicorn, whatever PATH says.
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        app_path,
        "--host",
        host,
        "--port",
        os.environ.get("PORT", "8000"),
        "--workers",
        os.environ.get("WEB_CONCURRENCY", "1"),
        "--no-access-log",
        # JSON from the first line on; the app sets LOG_LEVEL when it starts.
        "--log-config",
        str(Path(__file__).with_name("logging.json")),
        "--no-proxy-headers",  # X-Forwarded-For is judged by our own trusted-proxy list
        "--no-server-header",
    ]
    sys.stdout.flush()
    os.execvp(args[0], args)  # noqa: S606

"""One compose stack for the whole e2e session: real images, built from this checkout, reached
only through the nginx proxy on 127.0.0.1.

Production settings (ENVIRONMENT=production, so real secrets are generated for the run),
except that the signup/login rate limits are raised so the suite is not throttled. Base images
come from the same variables compose reads (scripts/offline-images.sh sets them where no
registry is reachable). A missing Docker engine fails the suite: these tests are never skipped.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from testcontainers.compose import DockerCompose

from tests.e2e.stack import ROOT, Stack
from tests.support.ports import free_port

# Overridable so that several checkouts can run the e2e suite side by side.
PROJECT = os.environ.get("E2E_PROJECT", "todo-e2e")
LOG_TAIL_ON_FAILURE = 150


def _stack_environment(port: int) -> dict[str, str]:
    unthrottled = "100000"
    return {
        "COMPOSE_PROJECT_NAME": PROJECT,  # never the developer's own stack
        "AUTH_IMAGE": f"todo-backend/auth:{PROJECT}",
        "TASKS_IMAGE": f"todo-backend/tasks:{PROJECT}",
        "FRONTEND_IMAGE": f"todo-backend/frontend:{PROJECT}",
        "COMPOSE_BAKE": "false",  # build through the engine; no buildx plugin needed
        "PROXY_PORT": str(port),
        "ENVIRONMENT": "production",
        "POSTGRES_PASSWORD": secrets.token_urlsafe(24),
        "KEY_ENCRYPTION_SECRET": secrets.token_urlsafe(32),
        "BETTER_AUTH_SECRET": secrets.token_urlsafe(32),
        "SIGNUP_IP_LIMIT": unthrottled,
        "SIGNUP_EMAIL_LIMIT": unthrottled,
        "LOGIN_IP_LIMIT": unthrottled,
        "LOGIN_EMAIL_LIMIT": unthrottled,
        "LOGIN_EMAIL_IP_LIMIT": unthrottled,
        "FRONTEND_AUTH_RATE_LIMIT": unthrottled,
        # A rotated key is published this long before it signs (production: minutes).
        "KEY_ACTIVATION_DELAY_SECONDS": "3",
    }


def _require_docker() -> None:
    if shutil.which("docker") is None:
        pytest.fail("the e2e suite needs Docker: run scripts/ensure-docker.sh", pytrace=False)
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if info.returncode != 0:
        pytest.fail(f"the Docker engine does not answer: {info.stderr.strip()}", pytrace=False)


@pytest.fixture(scope="session")
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    _require_docker()
    port = free_port()
    with pytest.MonkeyPatch.context() as env:
        for name, value in _stack_environment(port).items():
            env.setenv(name, value)
        compose = DockerCompose(ROOT, compose_file_name="docker-compose.yml")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=15) as client:
            stack = Stack(compose, client)
            stack.run("down", "--volumes", "--remove-orphans")  # leftovers of an interrupted run
            saved_logs = tmp_path_factory.mktemp("e2e") / "compose.log"
            try:
                try:
                    stack.up("--build", timeout=600)
                except BaseException:
                    _report_logs(request, stack, saved_logs)
                    raise
                yield stack
                if request.session.testsfailed:
                    _report_logs(request, stack, saved_logs)
            finally:
                compose.stop(down=True)  # down --volumes


def _report_logs(request: pytest.FixtureRequest, stack: Stack, saved: Path) -> None:
    """Keep every container's log, and show its end, when something failed (CI keeps nothing
    else)."""
    try:
        logs = stack.run("logs", "--no-color", "--timestamps", timeout=120)
    except RuntimeError as error:
        logs = str(error)
    saved.write_text(logs)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", f"compose logs, last {LOG_TAIL_ON_FAILURE} lines (all: {saved})")
        reporter.write_line("\n".join(logs.splitlines()[-LOG_TAIL_ON_FAILURE:]))

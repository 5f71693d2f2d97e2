"""docker-compose.yml passes every setting of each service through from the host, so any limit
can be raised or lowered without editing the file (the services ignore the empty ones)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from pydantic_settings import BaseSettings

from tests.e2e.stack import ROOT
from tests.support.image import IMAGE_SETTINGS
from todo_auth.settings import Settings as AuthSettings
from todo_tasks.settings import Settings as TasksSettings

# The tasks service's issuers come from JWT_ISSUERS, which the service refuses together with
# the one-issuer shorthand, so compose passes the shorthand to auth (its own claims) only.
ISSUER_SHORTHAND = {"JWKS_URL", "JWT_ISSUER", "JWT_AUDIENCE"}


def _compose() -> dict[str, Any]:
    """The file as compose reads it (anchors merged), variables left as written."""
    output = subprocess.run(
        [
            "docker",
            "compose",
            "-f",
            "docker-compose.yml",
            "config",
            "--no-interpolate",
            "--format=json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    document: dict[str, Any] = json.loads(output)
    return document


@pytest.mark.parametrize(
    ("service", "settings"), [("auth", AuthSettings), ("tasks", TasksSettings)]
)
def test_every_setting_is_passed_through(service: str, settings: type[BaseSettings]) -> None:
    environment = _compose()["services"][service]["environment"]
    missing = {name.upper() for name in settings.model_fields} - set(environment)
    assert missing == IMAGE_SETTINGS | (ISSUER_SHORTHAND if service == "tasks" else set())
    for name, value in environment.items():
        assert str(value).startswith(f"${{{name}:-") or name == "DATABASE_URL", name


def test_only_the_proxy_publishes_a_port() -> None:
    services = _compose()["services"]
    assert [name for name, spec in services.items() if "ports" in spec] == ["proxy"]
    assert services["proxy"]["ports"] == ["127.0.0.1:${PROXY_PORT:-8080}:80"]

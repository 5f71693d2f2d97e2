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
    """The file as compose reads it (anchors merged, every profile's services included),
    variables left as written."""
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


def test_only_the_proxy_and_prometheus_publish_a_port_on_127_0_0_1() -> None:
    """The proxy, and in the `monitoring` profile Prometheus's UI on a port of its own; the
    services' metrics ports, nginx's stub_status (8081) and the exporters stay inside the
    stack's network."""
    services = _compose()["services"]
    published = {name: spec["ports"] for name, spec in services.items() if "ports" in spec}
    assert published == {
        "proxy": ["127.0.0.1:${PROXY_PORT:-8080}:80"],
        "prometheus": ["127.0.0.1:${PROMETHEUS_PORT:-9090}:9090"],
    }
    monitoring = {name for name, spec in services.items() if "profiles" in spec}
    assert monitoring == {"prometheus", "nginx-exporter", "postgres-exporter", "redis-exporter"}
    assert all(services[name]["profiles"] == ["monitoring"] for name in monitoring)

"""The swarm stack (deploy/swarm/stack.yml), without a swarm: `docker stack config` accepts it,
and it keeps what the scale-out test relies on (dnsrr everywhere, start-first updates spread
over nodes, PostgreSQL pinned, the proxy on host ports) and what compose has (images,
every setting, the secrets the services read). The cluster itself: scripts/swarm-test.sh."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from tests.deploy.manifests import ROOT
from tests.support.image import IMAGE_SETTINGS
from todo_auth.settings import Settings as AuthSettings
from todo_tasks.settings import Settings as TasksSettings

SWARM_DIR = ROOT / "deploy" / "swarm"
SETTINGS: dict[str, type[BaseSettings]] = {"auth": AuthSettings, "tasks": TasksSettings}
# Read by the stack's entrypoint, not by the services.
ENTRYPOINT_VARIABLES = {"STOP_DELAY_SECONDS"}


# What deploy.sh gives the stack for the tasks service's issuers when none is set: the auth
# service and the front end's Better Auth (`iss` = PUBLIC_URL/auth).
ISSUERS = (
    '[{"issuer": "http://127.0.0.1:8080", "jwks_url": "http://auth:8000/api/auth/jwks", '
    '"audience": "http://127.0.0.1:8080"}, {"issuer": "http://127.0.0.1:8080/auth", '
    '"jwks_url": "http://frontend:3000/auth/jwks", "audience": "http://127.0.0.1:8080"}]'
)
# Given to the front end as swarm secrets, not as environment values.
FRONTEND_SECRETS = {"DATABASE_URL", "BETTER_AUTH_SECRET"}


def _docker_stack_config(**environment: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "stack", "config", "-c", str(SWARM_DIR / "stack.yml")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        # Nothing from this shell (such as the offline image names): the defaults.
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), **environment},
    )


def _stack_config() -> dict[str, Any]:
    """The stack as `docker stack deploy` reads it, variables at their defaults."""
    result = _docker_stack_config(JWT_ISSUERS=ISSUERS)
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = yaml.safe_load(result.stdout)
    return document


def test_the_stack_needs_the_issuers_that_deploy_sh_gives() -> None:
    result = _docker_stack_config()
    assert result.returncode != 0
    assert "JWT_ISSUERS" in result.stderr


def test_every_value_is_fully_substituted(
    stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stack file substitutes no variable inside another's default: none may be left, and
    each service accepts its environment as the stack gives it."""
    for name, service in stack["services"].items():
        for variable, value in service.get("environment", {}).items():
            assert "${" not in str(value), (name, variable)
    for name, settings in SETTINGS.items():
        with monkeypatch.context() as patch:
            for variable, value in stack["services"][name]["environment"].items():
                patch.setenv(variable, str(value))
            # What the entrypoint exports from the secrets (production refuses placeholders).
            patch.setenv("DATABASE_URL", f"postgresql://todo:{uuid.uuid4().hex}@postgres/{name}")
            patch.setenv("KEY_ENCRYPTION_SECRET", uuid.uuid4().hex)
            settings()


@pytest.fixture(scope="module")
def stack() -> dict[str, Any]:
    return _stack_config()


def _raw(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    return document


def test_every_service_resolves_by_dns_round_robin(stack: dict[str, Any]) -> None:
    """No virtual IPs: they need IPVS, which not every kernel has."""
    services = stack["services"]
    assert set(services) == {"postgres", "redis", "auth", "tasks", "frontend", "proxy"}
    for name, service in services.items():
        assert service["deploy"]["endpoint_mode"] == "dnsrr", name


@pytest.mark.parametrize("name", ["auth", "tasks", "frontend"])
def test_services_spread_and_update_start_first(stack: dict[str, Any], name: str) -> None:
    deploy = stack["services"][name]["deploy"]
    assert deploy["replicas"] >= 2
    assert deploy["placement"]["max_replicas_per_node"] == 1
    assert deploy["update_config"]["order"] == "start-first"
    assert deploy["rollback_config"]["order"] == "start-first"
    assert deploy["update_config"]["failure_action"] == "rollback"
    assert deploy["restart_policy"]["condition"] == "any"


def test_postgres_stays_with_its_volume_and_the_proxy_uses_host_ports(
    stack: dict[str, Any],
) -> None:
    postgres = stack["services"]["postgres"]
    assert postgres["deploy"]["placement"]["constraints"] == ["node.labels.todo.postgres == true"]
    assert postgres["volumes"][0]["source"] == "pgdata"
    proxy = stack["services"]["proxy"]
    assert [(p["target"], p["mode"]) for p in proxy["ports"]] == [(80, "host")]
    assert proxy["deploy"]["placement"]["constraints"] == ["node.labels.todo.edge == true"]
    assert [c["target"] for c in proxy["configs"]] == [
        "/etc/nginx/templates/default.conf.template",
        "/etc/nginx/templates/status.conf.template",
        "/docker-entrypoint.d/40-todo-upstreams.sh",
    ]
    assert proxy["environment"]["FRONTEND_URL"] == "http://frontend:3000"


def test_configs_are_the_repository_files(stack: dict[str, Any]) -> None:
    files = {name: Path(config["file"]) for name, config in stack["configs"].items()}
    assert files == {
        "entrypoint": SWARM_DIR / "entrypoint.sh",
        "postgres_init": ROOT / "docker" / "postgres-init" / "01-databases.sql",
        "proxy_template": ROOT / "proxy" / "templates" / "default.conf.template",
        "proxy_upstreams": ROOT / "proxy" / "entrypoint.d" / "40-todo-upstreams.sh",
        "proxy_status_template": ROOT / "proxy" / "templates" / "status.conf.template",
    }
    assert all(path.is_file() for path in files.values())


def test_images_are_the_compose_files(stack: dict[str, Any]) -> None:
    compose = _raw(ROOT / "docker-compose.yml")["services"]
    swarm = _raw(SWARM_DIR / "stack.yml")["services"]
    assert {name: s["image"] for name, s in swarm.items()} == {
        name: s["image"] for name, s in compose.items() if name in swarm
    }


@pytest.mark.parametrize("name", ["auth", "tasks"])
def test_every_setting_reaches_the_service(stack: dict[str, Any], name: str) -> None:
    service = stack["services"][name]
    from_secrets = {secret["target"].upper() for secret in service["secrets"]}
    settings = {field.upper() for field in SETTINGS[name].model_fields}
    given = set(service["environment"]) | from_secrets
    # tasks names its issuers with JWT_ISSUERS, refused together with the one-issuer shorthand.
    shorthand = {"JWKS_URL", "JWT_ISSUER", "JWT_AUDIENCE"} if name == "tasks" else set()
    assert settings - given == IMAGE_SETTINGS | shorthand
    assert given - settings == ENTRYPOINT_VARIABLES
    # Secrets are never plain environment values in the stack.
    assert {"DATABASE_URL", "KEY_ENCRYPTION_SECRET"} & set(service["environment"]) == set()
    assert service["entrypoint"] == ["/bin/sh", "/usr/local/bin/todo-entrypoint"]


def test_the_front_end_gets_what_compose_gives_it(stack: dict[str, Any]) -> None:
    """The front end has no settings class to compare with: compose's list is the reference."""
    service = stack["services"]["frontend"]
    compose = _raw(ROOT / "docker-compose.yml")["services"]["frontend"]["environment"]
    from_secrets = {secret["target"].upper() for secret in service["secrets"]}
    assert from_secrets == FRONTEND_SECRETS
    assert set(service["environment"]) | from_secrets == set(compose) | ENTRYPOINT_VARIABLES
    assert FRONTEND_SECRETS & set(service["environment"]) == set()
    assert service["entrypoint"] == ["/bin/sh", "/usr/local/bin/todo-entrypoint"]
    assert service["command"] == ["node", "server.js"]  # the image's CMD


def test_tasks_trust_the_auth_service_and_the_front_end(stack: dict[str, Any]) -> None:
    """Each issuer's `iss` and `aud` are what that issuer signs with, its JWKS a stack service
    tasks may fetch over plain HTTP."""
    environment = stack["services"]["tasks"]["environment"]
    auth = stack["services"]["auth"]["environment"]
    public = stack["services"]["frontend"]["environment"]["PUBLIC_URL"]
    issuers = {i["issuer"]: i for i in json.loads(environment["JWT_ISSUERS"])}
    assert issuers == {
        auth["JWT_ISSUER"]: {
            "issuer": auth["JWT_ISSUER"],
            "jwks_url": "http://auth:8000/api/auth/jwks",
            "audience": auth["JWT_AUDIENCE"],
        },
        f"{public}/auth": {
            "issuer": f"{public}/auth",
            "jwks_url": "http://frontend:3000/auth/jwks",
            "audience": public,
        },
    }
    assert environment["JWKS_ALLOW_HTTP_HOSTS"].split(",") == ["auth", "frontend"]


def test_deploy_sh_gives_the_issuers_of_the_stack_defaults() -> None:
    """The list deploy.sh builds when JWT_ISSUERS is unset is the one the tests above check."""
    script = (SWARM_DIR / "deploy.sh").read_text()
    builder = re.search(r"python3 -c '(import json, os\n.*?)'\)\"", script, re.S)
    assert builder is not None
    result = subprocess.run(
        [sys.executable, "-c", builder.group(1)],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"]},
    )
    assert json.loads(result.stdout) == json.loads(ISSUERS)


def test_the_entrypoint_exports_each_secret_and_runs_the_command(tmp_path: Path) -> None:
    (tmp_path / "database_url").write_text("postgresql://u:p@db/auth\n")
    (tmp_path / "key_encryption_secret").write_text("s3cret")
    result = subprocess.run(
        [
            "sh",
            str(SWARM_DIR / "entrypoint.sh"),
            "sh",
            "-c",
            'echo "$DATABASE_URL|$KEY_ENCRYPTION_SECRET"; exit 3',
        ],
        env={"PATH": os.environ["PATH"], "SECRETS_DIR": str(tmp_path), "STOP_DELAY_SECONDS": "1"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.stdout == "postgresql://u:p@db/auth|s3cret\n"
    assert result.returncode == 3


def test_the_entrypoint_passes_sigterm_on_and_exits_with_the_program(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    process = subprocess.Popen(
        [
            "sh",
            str(SWARM_DIR / "entrypoint.sh"),
            "sh",
            "-c",
            f"trap 'exit 7' TERM; touch {marker}; while :; do sleep 0.1; done",
        ],
        env={
            "PATH": os.environ["PATH"],
            "SECRETS_DIR": str(tmp_path / "none"),
            "STOP_DELAY_SECONDS": "1",
        },
    )
    try:
        while not marker.exists():
            assert process.poll() is None
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 7
    finally:
        process.kill()


@pytest.fixture(scope="module")
def monitoring() -> dict[str, Any]:
    result = subprocess.run(
        ["docker", "stack", "config", "-c", str(SWARM_DIR / "monitoring.yml")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")},
    )
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = yaml.safe_load(result.stdout)
    return document


def test_the_monitoring_stack_is_compose_s_profile_on_the_main_stack_s_network(
    monitoring: dict[str, Any],
) -> None:
    """The same images, entrypoints and Prometheus files as compose's `monitoring` profile,
    on the network of the stack it watches, publishing nothing, every service dnsrr."""
    compose = _raw(ROOT / "docker-compose.yml")["services"]
    services = monitoring["services"]
    watched = {name for name, spec in compose.items() if "monitoring" in spec.get("profiles", ())}
    assert set(services) == watched
    raw = _raw(SWARM_DIR / "monitoring.yml")["services"]
    for name, service in services.items():
        assert raw[name]["image"] == compose[name]["image"], name
        assert service["entrypoint"] == compose[name]["entrypoint"], name
        assert "ports" not in service, name
        assert service["deploy"]["endpoint_mode"] == "dnsrr", name
    assert monitoring["networks"]["default"] == {"external": True, "name": "todo_default"}
    files = {name: Path(config["file"]) for name, config in monitoring["configs"].items()}
    assert files == {
        "prometheus_config": ROOT / "monitoring" / "prometheus" / "prometheus.yml",
        "prometheus_rules": ROOT / "monitoring" / "prometheus" / "rules.yml",
    }
    targets = {c["target"] for c in services["prometheus"]["configs"]}
    assert targets == {"/etc/prometheus/prometheus.yml", "/etc/prometheus/rules.yml"}
    # The exporter reads the stack's PostgreSQL password from its secret, never from a value.
    exporter = services["postgres-exporter"]
    assert exporter["environment"]["DATA_SOURCE_PASS_FILE"] == "/run/secrets/postgres_password"
    assert [s["source"] for s in exporter["secrets"]] == ["postgres_password"]

"""The `monitoring` profile on the e2e stack: Prometheus finds every replica by DNS (and
follows a scale-up), scrapes the exporters of nginx, PostgreSQL and Redis, loads its rules,
fires ReplicaDown for a replica that stops answering; and the metrics are never reachable
through the public proxy.

The profile's containers and volume are removed when the module ends (the session's `down`
leaves a profile it was not given); the tasks service stays at two replicas, as the next module
(test_operations) scales it anyway.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from functools import partial
from typing import Any

import httpx
import pytest

from tests.e2e.stack import ROOT, Stack, wait_until
from tests.support.ports import free_port

MONITORING = ("prometheus", "nginx-exporter", "postgres-exporter", "redis-exporter")
EXPOSITION = re.compile(r"^# (HELP|TYPE) ", re.M)


@pytest.fixture(scope="module")
def prometheus(stack: Stack) -> Iterator[httpx.Client]:
    port = free_port()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PROMETHEUS_PORT", str(port))
        stack.scale = {**stack.scale, "tasks": 2}
        scale = [f"--scale={name}={count}" for name, count in stack.scale.items()]
        try:
            stack.run(
                *("--profile", "monitoring", "up", "--detach", "--no-recreate"),
                *("--wait", "--wait-timeout=300", *scale),
                timeout=360,
            )
            stack.wait_ready("tasks")
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                yield client
        finally:
            stack.run("--profile", "monitoring", "rm", "--stop", "--force", *MONITORING)
            # The session's `down --volumes` leaves a volume only the profile's services use.
            volume = f"{os.environ['COMPOSE_PROJECT_NAME']}_prometheus-data"
            subprocess.run(["docker", "volume", "rm", "--force", volume], check=True, timeout=60)


def _targets(prometheus: httpx.Client) -> list[dict[str, Any]]:
    response = prometheus.get("/api/v1/targets", params={"state": "active"})
    response.raise_for_status()
    targets: list[dict[str, Any]] = response.json()["data"]["activeTargets"]
    return targets


def _up_by_job(prometheus: httpx.Client) -> dict[str, int]:
    up: dict[str, int] = {}
    for target in _targets(prometheus):
        if target["health"] == "up":
            job = target["labels"]["job"]
            up[job] = up.get(job, 0) + 1
    return up


def test_every_replica_and_exporter_is_scraped(stack: Stack, prometheus: httpx.Client) -> None:
    expected = {
        "auth": len(stack.container_ids("auth")),
        "tasks": 2,
        "nginx": 1,
        "postgres": 1,
        "redis": 1,
        "prometheus": 1,
    }
    wait_until(lambda: _up_by_job(prometheus) == expected, 90, f"targets up: {expected}")


def test_the_exporters_reach_what_they_watch(prometheus: httpx.Client) -> None:
    def value(query: str) -> float | None:
        result = prometheus.get("/api/v1/query", params={"query": query}).json()["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    for query in ("nginx_up", "pg_up", "redis_up"):
        wait_until(partial(lambda q: value(q) == 1, query), 60, f"{query} == 1")


def test_requests_through_the_proxy_are_counted_by_route(
    stack: Stack, prometheus: httpx.Client
) -> None:
    user = stack.new_user()
    for _ in range(3):
        assert stack.client.get(user.tasks_path, headers=user.headers).status_code == 200

    def counted() -> float | None:
        query = 'sum(todo_http_requests_total{job="tasks",route="/api/{user_id}/tasks"})'
        result = prometheus.get("/api/v1/query", params={"query": query}).json()["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    wait_until(lambda: (counted() or 0) >= 3, 60, "the list requests in Prometheus")
    series = prometheus.get(
        "/api/v1/series", params={"match[]": 'todo_http_requests_total{job="tasks"}'}
    ).json()["data"]
    assert user.id not in str(series)  # a route's template, never its path


def test_the_rules_are_loaded(prometheus: httpx.Client) -> None:
    groups = prometheus.get("/api/v1/rules").json()["data"]["groups"]
    alerts = {
        rule["name"] for group in groups for rule in group["rules"] if rule["type"] == "alerting"
    }
    rules = (ROOT / "monitoring" / "prometheus" / "rules.yml").read_text()
    assert alerts == set(re.findall(r"- alert: (\w+)", rules))


def test_a_paused_replica_fires_replica_down(stack: Stack, prometheus: httpx.Client) -> None:
    """A fault: one tasks replica stops answering (paused, so Docker's DNS still lists it).
    ReplicaDown fires for it alone, and ends once it answers again."""
    paused = stack.container_ids("tasks")[-1]
    address_of = "--format={{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
    address = subprocess.run(
        ["docker", "inspect", address_of, paused],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()

    def firing() -> list[str]:
        alerts = prometheus.get("/api/v1/alerts").json()["data"]["alerts"]
        return [
            alert["labels"]["instance"]
            for alert in alerts
            if alert["labels"]["alertname"] == "ReplicaDown" and alert["state"] == "firing"
        ]

    subprocess.run(["docker", "pause", paused], check=True, timeout=30)
    try:
        assert wait_until(firing, 180, "ReplicaDown firing") == [f"{address}:9000"]
    finally:
        subprocess.run(["docker", "unpause", paused], check=True, timeout=30)
    wait_until(lambda: not firing(), 120, "ReplicaDown to end")


@pytest.mark.parametrize(
    "path",
    ["/metrics", "/api/metrics", "/api/auth/metrics", "/.well-known/metrics", "/stub_status"],
)
def test_no_metrics_through_the_public_proxy(
    stack: Stack, prometheus: httpx.Client, path: str
) -> None:
    """Neither a service's metrics port nor nginx's stub_status is reachable through port 80,
    while Prometheus scrapes both."""
    response = stack.client.get(path)
    assert response.status_code == 404, (path, response.status_code)
    assert not EXPOSITION.search(response.text)
    assert "Active connections" not in response.text


def test_the_proxy_configuration_never_names_the_metrics_port() -> None:
    """What the live test cannot prove for every path: no `proxy_pass` or upstream of the
    public server names the metrics port, and the stub_status server is on a port compose
    does not publish."""
    templates = ROOT / "proxy" / "templates"
    public = (templates / "default.conf.template").read_text()
    upstreams = (ROOT / "proxy" / "entrypoint.d" / "40-todo-upstreams.sh").read_text()
    assert ":9000" not in public
    assert "stub_status" not in public
    assert 'spec="${PROXY_UPSTREAMS:-auth=auth:8000 tasks=tasks:8000}"' in upstreams
    status = (templates / "status.conf.template").read_text()
    # Compose publishes the proxy's port 80 alone (tests/e2e/test_compose_file.py).
    assert re.findall(r"^\s*listen (\S+);", status, re.M) == ["8081"]

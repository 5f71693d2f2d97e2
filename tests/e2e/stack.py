"""The compose stack as the e2e tests drive it: compose commands, the API through the proxy,
and direct calls to one replica from inside its container (the proxy hides which one answers).
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
from testcontainers.compose import DockerCompose

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "e2e correct horse battery"
T = TypeVar("T")

# Run by the container's own Python: one HTTP request to the replica itself on :8000, printing
# the status and the JSON body (slim images have no curl).
_REPLICA_REQUEST = """
import json, sys, urllib.error, urllib.request
method, path, token, body, headers = sys.argv[1:6]
request = urllib.request.Request("http://127.0.0.1:8000" + path, method=method,
                                 data=body.encode() if body else None, headers=json.loads(headers))
request.add_header("Content-Type", "application/json")
if token:
    request.add_header("Authorization", "Bearer " + token)
try:
    with urllib.request.urlopen(request, timeout=10) as response:
        status, raw = response.status, response.read()
except urllib.error.HTTPError as error:
    status, raw = error.code, error.read()
print(json.dumps({"status": status, "body": json.loads(raw) if raw else None}))
"""


@dataclass(frozen=True)
class User:
    id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def tasks_path(self) -> str:
        return f"/api/{self.id}/tasks"


@dataclass
class Stack:
    compose: DockerCompose
    client: httpx.Client
    scale: dict[str, int] = field(default_factory=dict)

    def run(self, *args: str, timeout: float = 300) -> str:
        """`docker compose <args>` for this project; raises with compose's output on failure."""
        command = [*self.compose.docker_compose_command(), *args]
        result = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}{result.stderr}"
            )
        return result.stdout

    def proxy_log(self, until: str) -> str:
        """The proxy's access log once it shows `until` (a request id): nginx writes the log
        a few KiB at a time, at least once a second, so the latest lines come a moment late."""

        def written() -> str | None:
            log = self.run("logs", "--no-log-prefix", "proxy")
            return log if until in log else None

        return wait_until(written, 10, f"the proxy's access log line of {until}")

    def up(self, *args: str, timeout: float = 300) -> None:
        """`up -d --wait` at the current scale (a bare `up` would scale replicas back to one),
        then wait until every replica is ready."""
        scale = [f"--scale={name}={count}" for name, count in self.scale.items()]
        wait = ["--wait", f"--wait-timeout={int(timeout)}"]
        self.run("up", "--detach", *wait, *scale, *args, timeout=timeout + 30)
        for service in ("auth", "tasks"):
            self.wait_ready(service)

    def wait_ready(self, service: str, timeout: float = 60) -> None:
        """Every replica answers /readyz with 200: its database and (tasks) the issuer's keys
        are reachable. The container healthcheck only says the process is alive."""
        for replica in range(1, self.scale.get(service, 1) + 1):
            wait_until(
                partial(self.replica_ready, service, replica),
                timeout,
                f"{service} replica {replica} to be ready",
            )

    def replica_ready(self, service: str, replica: int) -> bool:
        return self.call_replica(service, replica, "GET", "/readyz")[0] == 200

    def container_ids(self, service: str) -> list[str]:
        return [c.ID for c in self.compose.get_containers() if c.Service == service and c.ID]

    def started_at(self, service: str) -> list[str]:
        """When each container of `service` last (re)started: unchanged means not restarted."""
        inspect = ["docker", "inspect", "--format={{.State.StartedAt}}"]
        output = subprocess.run(
            [*inspect, *self.container_ids(service)],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        return sorted(output.split())

    def wait_healthy(self, service: str, count: int = 1, timeout: float = 120) -> None:
        def healthy() -> bool:
            states = [c.Health for c in self.compose.get_containers() if c.Service == service]
            return len(states) == count and all(state == "healthy" for state in states)

        wait_until(healthy, timeout, f"{count} healthy {service} container(s)")

    def call_replica(
        self,
        service: str,
        index: int,
        method: str,
        path: str,
        *,
        token: str = "",
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """One request to replica `index` (1-based) of `service`, from inside its container."""
        output = self.run(
            "exec",
            "-T",
            f"--index={index}",
            service,
            "python",
            "-c",
            _REPLICA_REQUEST,
            method,
            path,
            token,
            json.dumps(body) if body is not None else "",
            json.dumps(headers or {}),
            timeout=60,
        )
        result = json.loads(output)
        return result["status"], result["body"]

    def new_user(self) -> User:
        """Sign up and log in a fresh user through the proxy."""
        email = f"e2e-{uuid.uuid4().hex[:12]}@example.com"
        credentials = {"email": email, "password": PASSWORD}
        signup = self.client.post("/api/auth/signup", json=credentials)
        assert signup.status_code == 201, signup.text
        return User(id=signup.json()["id"], email=email, token=self.login(email))

    def login(self, email: str) -> str:
        response = self.client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token


def wait_until(
    check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.5
) -> T:
    """Poll `check` until it returns something truthy without raising; fail saying `what` never
    happened, with the last error seen."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            result: T | None = check()
        except (AssertionError, httpx.TransportError, RuntimeError) as error:
            result, last_error = None, error
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f}s waiting for {what} (last error: {last_error!r})"
            )
        time.sleep(interval)

"""What the benchmark brings up itself: PostgreSQL and Redis containers, real server processes."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from testcontainers.community.postgres import PostgresContainer
from testcontainers.community.redis import RedisContainer

BIN_DIR = Path(sys.executable).parent
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Databases:
    """libpq-style URLs (what the services' DATABASE_URL takes) of the run's databases."""

    auth_url: str
    tasks_url: str
    redis_url: str


@contextmanager
def containers() -> Iterator[Databases]:
    """A PostgreSQL (two databases: auth and tasks) and a Redis container, removed afterwards.

    The password is generated per run, so the services accept it in production mode.
    """
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    password = secrets.token_urlsafe(24)
    postgres = PostgresContainer(
        os.environ.get("POSTGRES_IMAGE", "postgres:17"),
        username="bench",
        password=password,
        dbname="bench",
        driver=None,
    ).with_command("postgres -c max_connections=400")
    redis = RedisContainer(os.environ.get("REDIS_IMAGE", "redis:7"))
    with postgres, redis:
        host = "127.0.0.1"
        pg_port = postgres.get_exposed_port(5432)
        base = f"postgresql://bench:{password}@{host}:{pg_port}"
        asyncio.run(_create_databases(f"{base}/bench", ["bench_auth", "bench_tasks"]))
        yield Databases(
            auth_url=f"{base}/bench_auth",
            tasks_url=f"{base}/bench_tasks",
            redis_url=f"redis://{host}:{redis.get_exposed_port(6379)}/0",
        )


async def _create_databases(admin_url: str, names: list[str]) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        for name in names:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


class Server:
    """A server process (its own process group, so its uvicorn workers stop with it)."""

    def __init__(
        self, name: str, command: list[str], env: dict[str, str], log_path: Path, port: int
    ) -> None:
        self.name = name
        self.port = port
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        full_env = {
            **os.environ,
            **env,
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            # One write per log line, so workers sharing the file never split each other's lines.
            "PYTHONUNBUFFERED": "1",
        }
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                env=full_env,
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def wait_ready(
        self, path: str, *, status: int = 200, timeout_seconds: float = 90.0
    ) -> None:
        deadline = time.monotonic() + timeout_seconds
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    code = self.process.returncode
                    raise RuntimeError(f"{self.name} exited {code}\n{self.tail()}")
                try:
                    if (await client.get(path)).status_code == status:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout_seconds:.0f}s\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def service_command(service: str) -> list[str]:
    """`todo-auth serve` / `todo-tasks serve`: migrations, then uvicorn with WEB_CONCURRENCY."""
    return [str(BIN_DIR / f"todo-{service}"), "serve"]


def uvicorn_command(app: str, port: int, workers: int) -> list[str]:
    return [
        str(BIN_DIR / "uvicorn"),
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]


PROXY_DIR = REPO_ROOT / "proxy"
PROXY_TEMPLATE = PROXY_DIR / "templates" / "default.conf.template"
PROXY_UPSTREAMS_SCRIPT = PROXY_DIR / "entrypoint.d" / "40-todo-upstreams.sh"


def proxy_template(listen_port: int) -> str:
    """The stack's nginx template, listening on 127.0.0.1:`listen_port` instead of port 80
    (the proxy shares the host's network with the servers). Every other line is the stack's."""
    config = PROXY_TEMPLATE.read_text()
    old, new = "listen 80 default_server;", f"listen 127.0.0.1:{listen_port} default_server;"
    if old not in config:
        raise RuntimeError(f"{PROXY_TEMPLATE} no longer contains {old!r}: update the bench")
    return config.replace(old, new)


class Proxy:
    """The stack's nginx image (`NGINX_IMAGE`) on the host network in front of the servers,
    started as compose starts it: the template and the upstream watcher mounted, rendered by
    the image's entrypoint; the watcher resolves the servers' 127.0.0.1 addresses, and there
    is no front end."""

    def __init__(self, template_path: Path, port: int, upstreams: dict[str, str]) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        image = os.environ.get("NGINX_IMAGE", "nginx:1.27")
        watcher = f"/docker-entrypoint.d/{PROXY_UPSTREAMS_SCRIPT.name}"
        spec = " ".join(f"{name}={address}" for name, address in upstreams.items())
        command = [
            *("docker", "run", "-d", "--rm", "--network", "host"),
            *("-e", "FRONTEND_URL=", "-e", "NGINX_ENVSUBST_FILTER=FRONTEND_URL"),
            *("-e", f"PROXY_UPSTREAMS={spec}"),
            *("-v", f"{template_path}:/etc/nginx/templates/default.conf.template:ro"),
            *("-v", f"{PROXY_UPSTREAMS_SCRIPT}:{watcher}:ro"),
            image,
        ]
        self.container = subprocess.run(
            command, capture_output=True, text=True, check=True
        ).stdout.strip()

    async def wait_ready(self, timeout_seconds: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_seconds
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        logs = await asyncio.to_thread(
            subprocess.run, ["docker", "logs", self.container], capture_output=True, text=True
        )
        raise RuntimeError(f"proxy not ready after {timeout_seconds:.0f}s\n{logs.stderr}")

    def stop(self) -> None:
        subprocess.run(["docker", "rm", "-f", self.container], capture_output=True, check=False)

"""Start-up failures read as one line, not a traceback: a placeholder secret in production,
a database that never comes up. A database that comes up late is waited for, and `serve`
migrates, then serves the service's app.

Each service's command line runs as a subprocess, as the container runs it.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.ports import free_port

COMMANDS = ["todo-auth", "todo-tasks"]
# Each app's own document, so the test sees that app and no other.
OPENAPI = {
    "todo-auth": ("/api/auth/openapi.json", "Todo auth"),
    "todo-tasks": ("/api/openapi.json", "Todo tasks"),
}


async def start(command: str, cwd: Path, **env: str) -> asyncio.subprocess.Process:
    """`<command> migrate` with only `env` (and PATH) in its environment."""
    return await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name(command)),
        "migrate",
        cwd=cwd,  # no .env file here
        env={"PATH": os.environ["PATH"], "ENVIRONMENT": "test", **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish(process: asyncio.subprocess.Process, stdout: bytes = b"") -> tuple[int, str, str]:
    """Wait for the command's exit; `stdout` is what was already read of its output."""
    rest, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, (stdout + rest).decode(), stderr.decode()


async def run(command: str, cwd: Path, **env: str) -> tuple[int, str, str]:
    return await finish(await start(command, cwd, **env))


@pytest.mark.parametrize("command", COMMANDS)
async def test_a_placeholder_secret_in_production_is_one_line_naming_it(
    command: str, tmp_path: Path
) -> None:
    code, _, stderr = await run(command, tmp_path, ENVIRONMENT="production")

    assert code != 0
    (line,) = stderr.strip().splitlines()
    assert line.startswith(f"{command}: configuration error: ")
    assert "DATABASE_URL password" in line
    assert "Traceback" not in stderr


async def test_a_bad_setting_is_named_in_upper_case(tmp_path: Path) -> None:
    code, _, stderr = await run("todo-auth", tmp_path, DB_POOL_SIZE="zero")

    assert code != 0
    (line,) = stderr.strip().splitlines()
    assert "DB_POOL_SIZE: " in line


@pytest.mark.parametrize("command", COMMANDS)
async def test_an_unreachable_database_is_retried_then_one_line_naming_host_and_port(
    command: str, tmp_path: Path
) -> None:
    port = free_port()
    code, stdout, stderr = await run(
        command,
        tmp_path,
        DATABASE_URL=f"postgresql://todo:pw@127.0.0.1:{port}/todo",
        DB_STARTUP_TIMEOUT_SECONDS="2",
    )

    assert code != 0
    (line,) = stderr.strip().splitlines()
    assert line.startswith(f"{command}: database unreachable at 127.0.0.1:{port} ")
    assert "DB_STARTUP_TIMEOUT_SECONDS=2" in line
    assert "Traceback" not in stderr
    assert stdout.count("database not reachable yet") >= 2  # it retried


async def test_a_database_that_comes_up_late_is_waited_for(
    create_database: Callable[[str], str], tmp_path: Path
) -> None:
    """The database's port starts answering (a forwarder to the real one) only after the
    command found it unreachable: the migration then runs, and the command succeeds."""
    real = urlsplit(create_database("late"))
    assert real.hostname is not None
    port = free_port()

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(real.hostname, real.port)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    late_url = real._replace(netloc=f"{real.username}:{real.password}@127.0.0.1:{port}").geturl()
    process = await start(
        "todo-tasks", tmp_path, DATABASE_URL=late_url, DB_STARTUP_TIMEOUT_SECONDS="60"
    )
    # The port opens only once the command has been refused at least once, however long its
    # start-up takes on a loaded machine.
    assert process.stdout is not None
    seen = b""
    while b"database not reachable yet" not in seen:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
        assert line, "the command ended before it found the database unreachable"
        seen += line
    server = await asyncio.start_server(forward, "127.0.0.1", port)
    code, stdout, stderr = await finish(process, seen)
    server.close()

    assert code == 0, stderr
    assert "database not reachable yet" in stdout


@pytest.mark.parametrize("command", COMMANDS)
async def test_serve_migrates_then_serves_the_app(
    command: str, create_database: Callable[[str], str], redis_url: str, tmp_path: Path
) -> None:
    """`serve` as the image runs it: migrations, then uvicorn building the app in a worker."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name(command)),
        "serve",
        cwd=tmp_path,
        env={
            "PATH": os.environ["PATH"],
            "ENVIRONMENT": "test",
            "DATABASE_URL": create_database(f"serve_{command.replace('-', '_')}"),
            "REDIS_URL": redis_url,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "METRICS_PORT": str(free_port()),
        },
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    path, title = OPENAPI[command]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(600):
                assert process.returncode is None, "serve exited"
                try:
                    response = await client.get(path)
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            else:
                pytest.fail(f"{command} serve did not answer on port {port}")
    finally:
        process.terminate()
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)

    assert response.status_code == 200
    assert response.json()["info"]["title"] == title
    assert "Traceback" not in stderr.decode()

"""`serve`'s metrics endpoint counts every uvicorn worker: the auth service with two workers, as
the image runs it, answers requests from both, and its METRICS_PORT gives their sum. The
API's own port serves no metrics."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from tests.support.ports import free_port

HEALTHZ = re.compile(
    r'^todo_http_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)$', re.M
)


def _count_by_worker(directory: Path) -> dict[str, float]:
    """Each worker's own count of /healthz, read from its file alone."""
    counts = {}
    for path in directory.glob("counter_*.db"):
        # prometheus_client.multiprocess has no annotations.
        merged = MultiProcessCollector.merge([str(path)])  # type: ignore[no-untyped-call]
        for metric in merged:
            for sample in metric.samples:
                if sample.name == "todo_http_requests_total" and sample.labels == {
                    "method": "GET",
                    "route": "/healthz",
                    "status": "200",
                }:
                    counts[path.name] = sample.value
    return counts


async def test_two_workers_are_counted_together_on_the_metrics_port(
    create_database: Callable[[str], str], redis_url: str, tmp_path: Path
) -> None:
    port, metrics_port = free_port(), free_port()
    directory = tmp_path / "metrics"
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("todo-auth")),
        "serve",
        cwd=tmp_path,
        env={
            "PATH": os.environ["PATH"],
            "ENVIRONMENT": "test",
            "DATABASE_URL": create_database("metrics_endpoint"),
            "REDIS_URL": redis_url,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "METRICS_PORT": str(metrics_port),
            "WEB_CONCURRENCY": "2",
            "METRICS_DIR": str(directory),
            "BCRYPT_ROUNDS": "4",
        },
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    sent = 0
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(600):
                if process.returncode is not None:
                    assert process.stderr is not None
                    pytest.fail(f"serve exited: {(await process.stderr.read()).decode()}")
                try:
                    assert (await client.get("/healthz")).status_code == 200
                    sent += 1
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            else:
                pytest.fail(f"todo-auth serve did not answer on port {port}")
            assert (await client.get("/metrics")).status_code == 404  # not on the API's port

        # A new connection per request, many at once: the kernel hands them to both workers.
        async def one() -> None:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as fresh:
                assert (await fresh.get("/healthz")).status_code == 200

        for _ in range(50):
            await asyncio.gather(*(one() for _ in range(10)))
            sent += 10
            if sum(1 for count in _count_by_worker(directory).values() if count) >= 2:
                break
        per_worker = _count_by_worker(directory)

        async with httpx.AsyncClient() as scraper:
            exposed = (await scraper.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
    finally:
        if process.returncode is None:
            process.terminate()
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)

    assert len([count for count in per_worker.values() if count]) == 2, per_worker
    match = HEALTHZ.search(exposed)
    assert match is not None, exposed
    assert float(match[1]) == sent == sum(per_worker.values())
    assert "Traceback" not in stderr.decode()

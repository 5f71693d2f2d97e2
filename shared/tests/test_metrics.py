"""What the shared kit measures: requests by route template (never a raw path), the database
pool and its outages, the issuers' keys; and the metrics endpoint adding up worker files.

In-process the samples are in prometheus-client's default registry (no
PROMETHEUS_MULTIPROC_DIR here), which other tests write to as well: each test compares the
values before and after what it does.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from fastapi import APIRouter
from httpx import ASGITransport, AsyncClient
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, generate_latest

from tests.support.issuer import TestIssuer
from tests.support.ports import free_port
from todo_shared.app import create_app
from todo_shared.db import open_database
from todo_shared.errors import ServiceUnavailable
from todo_shared.server import LiveMultiProcessCollector, prepare_directory
from todo_shared.settings import ServiceSettings, VerifierSettings
from todo_shared.tokens import TokenVerifier

USER_ID = "0f8e2b9c-user-id-in-the-path"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def requests(route: str, method: str, status: int) -> float:
    return sample("todo_http_requests_total", route=route, method=method, status=str(status))


@pytest.fixture
async def client() -> AsyncIterator[AsyncClient]:
    router = APIRouter()

    @router.get("/api/{user_id}/things/{thing_id}")
    async def thing(user_id: str, thing_id: int) -> dict[str, str]:
        return {"user": user_id}

    @router.get("/broken")
    async def broken() -> None:
        raise RuntimeError("a bug")

    app = create_app(ServiceSettings(_env_file=None), title="t", routers=[router])
    async with AsyncClient(
        transport=ASGITransport(app=app, raise_app_exceptions=False), base_url="http://svc.test"
    ) as client:
        yield client


async def test_requests_are_counted_by_route_template_method_and_status(
    client: AsyncClient,
) -> None:
    route = "/api/{user_id}/things/{thing_id}"
    before = {
        "ok": requests(route, "GET", 200),
        "head": requests(route, "HEAD", 200),
        "invalid": requests(route, "GET", 400),
        "405": requests(route, "other", 405),
        "404": requests("unmatched", "GET", 404),
        "500": requests("/broken", "GET", 500),
        "latency": sample("todo_http_request_duration_seconds_count", route=route, method="GET"),
    }

    await client.get(f"/api/{USER_ID}/things/7")
    await client.get(f"/api/{USER_ID}/things/8")
    await client.head(f"/api/{USER_ID}/things/7")
    await client.get(f"/api/{USER_ID}/things/not-a-number")
    await client.request("BREW", f"/api/{USER_ID}/things/7")  # any token: "other"
    await client.get(f"/nowhere/{USER_ID}")
    assert (await client.get("/broken")).status_code == 500

    assert requests(route, "GET", 200) == before["ok"] + 2
    assert requests(route, "HEAD", 200) == before["head"] + 1
    assert requests(route, "GET", 400) == before["invalid"] + 1
    assert requests(route, "other", 405) == before["405"] + 1
    assert requests("unmatched", "GET", 404) == before["404"] + 1
    assert requests("/broken", "GET", 500) == before["500"] + 1
    latency = sample("todo_http_request_duration_seconds_count", route=route, method="GET")
    assert latency == before["latency"] + 3
    # No label anywhere holds a path's value.
    assert USER_ID not in generate_latest(REGISTRY).decode()


async def test_the_pool_is_sampled_and_an_outage_is_counted(
    create_database: Callable[[str], str],
) -> None:
    settings = ServiceSettings(_env_file=None, database_url=create_database("metrics"))
    async with open_database(settings) as database:
        async with database.transaction():
            database.sample_pool()
            assert sample("todo_db_pool_connections_in_use") == 1
        database.sample_pool()
        assert sample("todo_db_pool_connections_in_use") == 0
        assert sample("todo_db_pool_waiting") == 0
        assert sample("todo_db_pool_max_connections") == settings.db_pool_size

    down = ServiceSettings(
        _env_file=None,
        database_url=f"postgresql://todo:pw@127.0.0.1:{free_port()}/todo",
        db_connect_timeout_seconds=1,
    )
    before = sample("todo_db_unavailable_total")
    async with open_database(down) as database:
        with pytest.raises(ServiceUnavailable):
            await database.fetchval("SELECT 1")
        database.sample_pool()
        assert sample("todo_db_pool_waiting") == 0  # the failed caller left the queue
    assert sample("todo_db_unavailable_total") == before + 1


async def test_jwks_fetches_hits_staleness_and_key_age_per_issuer(
    issuer: TestIssuer,
    make_settings: Callable[..., VerifierSettings],
    make_verifier: Callable[..., TokenVerifier],
) -> None:
    name = issuer.issuer

    def jwks(metric: str, **labels: str) -> float:
        return sample(metric, issuer=name, **labels)

    # A TTL of a second; the cooldown bounds it from below.
    settings = make_settings(issuer, jwks_cache_ttl_seconds=1, jwks_refetch_cooldown_seconds=1)
    first, second = make_verifier(settings), make_verifier(settings)
    await first.verify(issuer.mint())
    await first.verify(issuer.mint())
    await second.verify(issuer.mint())  # another replica: from Redis

    assert jwks("todo_jwks_fetches_total", outcome="ok") == 1
    assert jwks("todo_jwks_cache_hits_total", cache="memory") == 1
    assert jwks("todo_jwks_cache_hits_total", cache="redis") == 1
    fetched = jwks("todo_jwks_keys_fetched_timestamp_seconds")
    assert fetched > 0

    issuer.failing = True
    await asyncio.sleep(1.1)
    await first.verify(issuer.mint())  # past the TTL: served stale, a refresh starts
    await asyncio.sleep(0.2)
    assert jwks("todo_jwks_stale_served_total") >= 1
    assert jwks("todo_jwks_fetches_total", outcome="error") == 1
    assert jwks("todo_jwks_keys_fetched_timestamp_seconds") == fetched  # still the old keys


def test_the_endpoint_adds_up_workers_and_drops_the_gauges_of_dead_ones(
    tmp_path: Path,
) -> None:
    """Two processes' files, as two workers leave them: their counters add up, and the live
    gauges of a process that no longer runs leave the sum."""
    prepare_directory(tmp_path)
    (tmp_path / "counter_1.db").write_bytes(b"left by an earlier start")
    prepare_directory(tmp_path)
    assert list(tmp_path.iterdir()) == []

    script = """
import sys
from prometheus_client import Counter, Gauge
Counter("todo_test_things", "t").inc(int(sys.argv[1]))
Gauge("todo_test_open", "t", multiprocess_mode="livesum").set(int(sys.argv[1]))
"""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for count in ("2", "3"):
        asyncio.run(_run_python(script, count, env))

    registry = CollectorRegistry()
    LiveMultiProcessCollector(tmp_path, registry)

    assert registry.get_sample_value("todo_test_things_total") == 5
    # Both writers have exited: their gauges are gone, their counts stay.
    assert registry.get_sample_value("todo_test_open") is None
    assert not list(tmp_path.glob("gauge_livesum_*.db"))


async def _run_python(script: str, argument: str, env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", script, argument, env=env)
    assert await process.wait() == 0


async def test_metrics_are_not_served_by_the_app(client: AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 404
    assert "todo_http_requests_total" not in response.text


def test_module_level_metric_types() -> None:
    """The gauges a worker sets are live ones: a dead worker's values must leave the sum."""
    from todo_shared import metrics

    gauges = [value for value in vars(metrics).values() if isinstance(value, Gauge)]
    assert gauges
    assert all(gauge._multiprocess_mode.startswith("live") for gauge in gauges)
    assert any(isinstance(value, Counter) for value in vars(metrics).values())

"""Live updates over a real HTTP server (uvicorn in the test's event loop): the stream sends
each committed change, resumes after Last-Event-ID, keeps itself open, ends with its token,
ends with its session, and caps the streams a user holds."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from tests.support.issuer import TestIssuer
from todo_shared.revocation import publish_revocation
from todo_tasks.main import create_tasks_app
from todo_tasks.settings import Settings

HEARTBEAT = 0.3
PER_USER = 3


@pytest.fixture(scope="module")
async def base_url(settings: Settings) -> AsyncIterator[str]:
    app = create_tasks_app(
        settings.model_copy(
            update={"event_heartbeat_seconds": HEARTBEAT, "event_streams_per_user": PER_USER}
        )
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(200):  # up to 10 s for the lifespan (keys, pool, listener)
        if server.started:
            break
        await asyncio.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    await serving


class Stream:
    """An open event stream: its events, comments and whether it ended."""

    def __init__(self, lines: AsyncIterator[str]) -> None:
        self._lines = lines
        self.comments = 0
        # As an SSE reader keeps it: the latest `id` field, dispatched with an event or not.
        self.last_event_id: str | None = None

    async def opening(self, within: float = 5.0) -> dict[str, str]:
        """The fields of the stream's first block (it dispatches no event)."""
        fields: dict[str, str] = {}
        async with asyncio.timeout(within):
            async for line in self._lines:
                if line == "":
                    self.last_event_id = fields.get("id", self.last_event_id)
                    return fields
                name, _, value = line.partition(": ")
                fields[name] = value
        raise EOFError("the stream ended")

    async def next_event(self, within: float = 5.0) -> dict[str, Any]:
        fields: dict[str, str] = {}
        async with asyncio.timeout(within):
            async for line in self._lines:
                if line.startswith(":"):
                    self.comments += 1
                elif line == "":
                    self.last_event_id = fields.get("id", self.last_event_id)
                    if "data" in fields:
                        return {**fields, "change": orjson.loads(fields["data"])}
                    fields = {}
                else:
                    name, _, value = line.partition(": ")
                    fields[name] = value
        raise EOFError("the stream ended")


@asynccontextmanager
async def stream(
    base_url: str, user: str, token: str, last_event_id: str | None = None
) -> AsyncIterator[tuple[httpx.Response, Stream]]:
    headers = {"Authorization": f"Bearer {token}"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=10) as client,
        client.stream("GET", f"/api/{user}/events", headers=headers) as response,
    ):
        yield response, Stream(response.aiter_lines())


@pytest.fixture
async def api(base_url: str, issuer: TestIssuer, alice: str) -> AsyncIterator[httpx.AsyncClient]:
    token = issuer.mint(alice)
    async with httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client


async def test_a_committed_change_reaches_an_open_stream(
    base_url: str, issuer: TestIssuer, alice: str, api: httpx.AsyncClient
) -> None:
    async with stream(base_url, alice, issuer.mint(alice)) as (response, events):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-accel-buffering"] == "no"
        created = (await api.post(f"/api/{alice}/tasks", json={"title": "live"})).json()
        event = await events.next_event()
        assert event["event"] == "change"
        assert event["change"] == {
            "op": "upsert",
            "type": "task",
            "id": created["id"],
            "version": 1,
            "task": created,
        }
        await api.delete(f"/api/{alice}/tasks/{created['id']}")
        gone = await events.next_event()
        assert gone["change"] == {"op": "delete", "type": "task", "id": created["id"], "version": 2}
        # The event id is a feed cursor: nothing after it yet.
        after = await api.get(f"/api/{alice}/changes", params={"since": gone["id"]})
        assert after.json()["changes"] == []


async def test_a_reconnect_with_last_event_id_replays_what_it_missed(
    base_url: str, issuer: TestIssuer, alice: str, api: httpx.AsyncClient
) -> None:
    async with stream(base_url, alice, issuer.mint(alice)) as (_, events):
        first = (await api.post(f"/api/{alice}/tasks", json={"title": "seen"})).json()
        seen = await events.next_event()
        assert seen["change"]["id"] == first["id"]
    missed = [
        (await api.post(f"/api/{alice}/tasks", json={"title": f"missed {n}"})).json()["id"]
        for n in range(3)
    ]
    await api.patch(f"/api/{alice}/tasks/{first['id']}", json={"title": "seen, edited"})
    async with stream(base_url, alice, issuer.mint(alice), seen["id"]) as (_, events):
        replayed = [(await events.next_event())["change"] for _ in range(4)]
    assert [(c["id"], c["version"]) for c in replayed] == [
        *((task_id, 1) for task_id in missed),
        (first["id"], 2),
    ]


async def test_a_stream_gives_its_starting_point_so_a_reconnect_before_any_change_loses_none(
    base_url: str, issuer: TestIssuer, alice: str, api: httpx.AsyncClient
) -> None:
    async with stream(base_url, alice, issuer.mint(alice)) as (_, events):
        opening = await events.opening()
        assert opening["retry"] == "1000"
        assert "data" not in opening
        start = events.last_event_id
    assert start is not None
    made = (await api.post(f"/api/{alice}/tasks", json={"title": "while away"})).json()
    async with stream(base_url, alice, issuer.mint(alice), start) as (_, events):
        replayed = await events.next_event()
    assert replayed["change"] == {
        "op": "upsert",
        "type": "task",
        "id": made["id"],
        "version": 1,
        "task": made,
    }
    # A resumed stream does not restate where it starts: the reader already holds that id.
    async with stream(base_url, alice, issuer.mint(alice), replayed["id"]) as (_, events):
        assert await events.opening() == {"retry": "1000"}


async def test_an_idle_stream_sends_comments_and_ends_when_its_token_expires(
    base_url: str, issuer: TestIssuer, alice: str
) -> None:
    token = issuer.mint(alice, exp=int(time.time()) + 2)
    async with stream(base_url, alice, token) as (_, events):
        with pytest.raises(EOFError):
            await events.next_event(within=6)
    assert events.comments >= 3  # `retry:` opens it; then a keep-alive every HEARTBEAT


async def test_a_stream_ends_when_its_session_ends_and_cannot_be_reopened(
    base_url: str, issuer: TestIssuer, alice: str, settings: Settings
) -> None:
    sid = uuid.uuid4().hex
    token = issuer.mint(alice, sid=sid)
    async with stream(base_url, alice, token) as (response, events):
        assert response.status_code == 200
        await events.opening()
        redis = Redis.from_url(settings.redis_url)
        await publish_revocation(redis, issuer.issuer, sid, 60)
        await redis.aclose()
        with pytest.raises(EOFError):
            await events.next_event(within=5)
    async with stream(base_url, alice, token) as (again, _):
        assert again.status_code == 401


async def test_a_user_holds_at_most_the_configured_streams(
    base_url: str, issuer: TestIssuer, alice: str, bob: str
) -> None:
    token = issuer.mint(alice)
    async with (
        stream(base_url, alice, token) as (a, _),
        stream(base_url, alice, token) as (b, _),
        stream(base_url, alice, token) as (c, _),
    ):
        assert [a.status_code, b.status_code, c.status_code] == [200] * PER_USER
        async with stream(base_url, alice, token) as (refused, _):
            assert refused.status_code == 429
            assert int(refused.headers["retry-after"]) > 0
        async with stream(base_url, bob, issuer.mint(bob)) as (other, _):
            assert other.status_code == 200  # the cap is per user
    # Closed streams give their slots back (once the server has seen them close).
    statuses = []
    for _ in range(30):
        async with stream(base_url, alice, token) as (again, _):
            statuses.append(again.status_code)
        if statuses[-1] == 200:
            break
        await asyncio.sleep(0.1)
    assert statuses[-1] == 200


@pytest.mark.parametrize("last_event_id", ["nonsense", "MTIz"])
async def test_a_last_event_id_the_service_did_not_issue_is_a_400(
    base_url: str, issuer: TestIssuer, alice: str, last_event_id: str
) -> None:
    async with stream(base_url, alice, issuer.mint(alice), last_event_id) as (response, _):
        assert response.status_code == 400
        assert orjson.loads(await response.aread())["detail"][0]["loc"] == [
            "header",
            "Last-Event-ID",
        ]


async def test_another_users_stream_is_a_403_and_no_token_a_401(
    base_url: str, issuer: TestIssuer, alice: str, bob: str
) -> None:
    async with stream(base_url, bob, issuer.mint(alice)) as (response, _):
        assert response.status_code == 403
    async with httpx.AsyncClient(base_url=base_url) as client:
        assert (await client.get(f"/api/{alice}/events")).status_code == 401


async def test_open_streams_refusals_and_the_feed_s_lag_are_measured(
    base_url: str, issuer: TestIssuer, alice: str, api: httpx.AsyncClient
) -> None:
    """In the default registry, shared with other tests: compared before and after."""

    def sample(name: str) -> float:
        return REGISTRY.get_sample_value(name) or 0.0

    open_before = sample("todo_tasks_event_streams_open")
    lagged = sample("todo_tasks_change_feed_lag_seconds_count")
    refused = sample("todo_tasks_event_streams_refused_total")
    token = issuer.mint(alice)
    async with stream(base_url, alice, token) as (_, events):
        await events.opening()
        assert sample("todo_tasks_event_streams_open") == open_before + 1
        await api.post(f"/api/{alice}/tasks", json={"title": "measured"})
        await events.next_event()
        assert sample("todo_tasks_change_feed_lag_seconds_count") == lagged + 1
        assert sample("todo_tasks_change_feed_lag_seconds_sum") < 60
        async with (
            stream(base_url, alice, token) as (_, second),
            stream(base_url, alice, token) as (_, third),
        ):
            await second.opening()
            await third.opening()
            async with stream(base_url, alice, token) as (over, _):
                assert over.status_code == 429
    assert sample("todo_tasks_event_streams_refused_total") == refused + 1
    for _ in range(50):  # the server sees the streams close a moment later
        if sample("todo_tasks_event_streams_open") == open_before:
            break
        await asyncio.sleep(0.1)
    assert sample("todo_tasks_event_streams_open") == open_before

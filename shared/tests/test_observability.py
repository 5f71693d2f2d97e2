"""The middleware every request passes: client address, request ids and log, 500, body cap."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import pytest
from fastapi import APIRouter
from httpx import ASGITransport, AsyncClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from todo_shared.app import create_app
from todo_shared.observability import JsonFormatter, TrustedProxies, install_request_middleware
from todo_shared.settings import ServiceSettings

MAX_BODY = 64
PROXY = ("10.0.0.2", 5000)
STRANGER = ("198.51.100.7", 5000)


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse({"size": len(body), "client_ip": request.state.client_ip})


def make_app() -> Starlette:
    app = Starlette(routes=[Route("/echo", echo, methods=["GET", "POST"]), Route("/healthz", echo)])
    install_request_middleware(app, max_body_bytes=MAX_BODY, proxies=TrustedProxies(["10.0.0.0/8"]))
    return app


@pytest.fixture
async def client() -> AsyncIterator[AsyncClient]:
    async with AsyncClient(
        transport=ASGITransport(app=make_app(), client=PROXY), base_url="http://svc.test"
    ) as client:
        yield client


async def test_request_id_is_kept_when_well_formed_else_generated(client: AsyncClient) -> None:
    kept = await client.get("/echo", headers={"X-Request-ID": "trace-1.2:3"})
    replaced = await client.get("/echo", headers={"X-Request-ID": "no spaces\nor newlines"})
    generated = await client.get("/echo")

    assert kept.headers["X-Request-ID"] == "trace-1.2:3"
    assert len(replaced.headers["X-Request-ID"]) == 32
    assert generated.headers["X-Request-ID"] != replaced.headers["X-Request-ID"]


async def test_bodies_over_the_cap_are_413_with_or_without_content_length(
    client: AsyncClient,
) -> None:
    async def chunks(size: int) -> AsyncIterator[bytes]:
        for _ in range(size):
            yield b"x"

    declared = await client.post("/echo", content=b"x" * (MAX_BODY + 1))
    streamed = await client.post("/echo", content=chunks(MAX_BODY + 1))
    at_cap = await client.post("/echo", content=chunks(MAX_BODY))

    assert (declared.status_code, declared.json()) == (413, {"detail": "request body too large"})
    assert streamed.status_code == 413
    assert "X-Request-ID" in streamed.headers
    assert (at_cap.status_code, at_cap.json()["size"]) == (200, MAX_BODY)


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        pytest.param(PROXY, "203.0.113.5", "203.0.113.5", id="proxy forwards the client"),
        pytest.param(PROXY, "203.0.113.5, 10.0.0.9", "203.0.113.5", id="chain of proxies"),
        pytest.param(PROXY, "1.1.1.1, 203.0.113.5", "203.0.113.5", id="forged hop ignored"),
        pytest.param(STRANGER, "203.0.113.5", STRANGER[0], id="untrusted peer not believed"),
        pytest.param(PROXY, None, PROXY[0], id="proxy without the header"),
    ],
)
async def test_client_address_believes_only_trusted_proxies(
    peer: tuple[str, int], forwarded: str | None, expected: str
) -> None:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    async with AsyncClient(
        transport=ASGITransport(app=make_app(), client=peer), base_url="http://svc.test"
    ) as client:
        response = await client.get("/echo", headers=headers)

    assert response.json()["client_ip"] == expected


async def test_one_json_access_line_per_request_and_quiet_health_probes(
    client: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="todo.access")
    await client.get("/echo?secret=query", headers={"X-Request-ID": "trace-42"})
    await client.get("/healthz")

    # Only the access lines: an app started earlier in the session may leave httpx logging.
    echo_line, probe_line = [r for r in caplog.records if r.name == "todo.access"]
    entry = json.loads(JsonFormatter().format(echo_line))
    assert echo_line.levelno == logging.INFO
    assert probe_line.levelno == logging.DEBUG
    assert entry["msg"] == "request"
    assert entry["request_id"] == "trace-42"
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/echo", 200)
    assert "secret" not in json.dumps(entry)  # the query string is never logged


async def test_an_unhandled_error_is_a_json_500_with_the_request_id_in_response_and_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Through the real app stack, where Starlette's ServerErrorMiddleware sits outside ours."""
    router = APIRouter()

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("bug")

    app = create_app(ServiceSettings(_env_file=None), title="t", routers=[router])
    caplog.set_level(logging.INFO)
    async with AsyncClient(
        transport=ASGITransport(app=app, raise_app_exceptions=False), base_url="http://svc.test"
    ) as client:
        response = await client.get("/boom", headers={"X-Request-ID": "trace-500"})

    assert response.status_code == 500
    assert response.json() == {"detail": "internal server error"}
    assert response.headers["X-Request-ID"] == "trace-500"
    (error,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    entry = json.loads(JsonFormatter().format(error))
    assert entry["request_id"] == "trace-500"
    assert "RuntimeError" in entry["exc"]


async def test_head_on_a_get_route_answers_as_get_without_a_body() -> None:
    router = APIRouter()

    @router.get("/thing")
    async def thing() -> JSONResponse:
        return JSONResponse({"some": "body"}, headers={"X-Total-Count": "7"})

    @router.post("/only-post")
    async def only_post() -> None:
        return None

    app = create_app(ServiceSettings(_env_file=None), title="t", routers=[router])
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://svc.test") as client:
        get = await client.get("/thing")
        head = await client.head("/thing")
        head_on_post = await client.head("/only-post")

    assert (head.status_code, head.content) == (200, b"")
    for name in ("content-type", "content-length", "x-total-count"):
        assert head.headers[name] == get.headers[name]
    assert head_on_post.status_code == 405

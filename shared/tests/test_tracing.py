"""Traces that join up: a request's `traceparent` names the trace in its log lines, and with
OTEL_EXPORTER_OTLP_ENDPOINT set each request is a span sent over OTLP/HTTP, here to a
collector running in the test (the real exporter, the real protocol)."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, FastAPI
from httpx import ASGITransport, AsyncClient
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from todo_shared.app import create_app
from todo_shared.observability import JsonFormatter, trace_id_of
from todo_shared.settings import ServiceSettings

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"
USER_ID = "0f8e2b9c-user-id-in-the-path"


@pytest.mark.parametrize(
    ("header", "trace_id"),
    [
        (TRACEPARENT, TRACE_ID),
        (f"01-{TRACE_ID}-{PARENT_ID}-01-later-fields", TRACE_ID),  # a later version may add
        (f"00-{TRACE_ID}-{PARENT_ID}-01-extra", None),  # version 00 may not
        (f"ff-{TRACE_ID}-{PARENT_ID}-01", None),
        (f"00-{'0' * 32}-{PARENT_ID}-01", None),
        (f"00-{TRACE_ID}-{'0' * 16}-01", None),
        (f"00-{TRACE_ID.upper()}-{PARENT_ID}-01", None),
        ("not a traceparent", None),
    ],
)
def test_only_a_well_formed_traceparent_names_a_trace(header: str, trace_id: str | None) -> None:
    assert trace_id_of(header) == trace_id


def _app(**settings: Any) -> FastAPI:
    router = APIRouter()

    @router.get("/api/{user_id}/things/{thing_id}")
    async def thing(user_id: str, thing_id: int) -> dict[str, str]:
        logging.getLogger("todo.test").info("inside the request")
        return {"user": user_id}

    return create_app(
        ServiceSettings(_env_file=None, **settings),
        title="t",
        service_name="todo-test",
        routers=[router],
    )


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every line of the request log and of the app's own logger, as the services write them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger("todo.access"), logging.getLogger("todo.test")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    yield stream
    for logger in loggers:
        logger.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_log_lines_carry_the_trace_id_of_the_traceparent(log_lines: io.StringIO) -> None:
    async with AsyncClient(transport=ASGITransport(app=_app()), base_url="http://svc") as client:
        await client.get(f"/api/{USER_ID}/things/1", headers={"traceparent": TRACEPARENT})
        await client.get(f"/api/{USER_ID}/things/2", headers={"traceparent": "garbage"})

    traced, untraced = _lines(log_lines)[:2], _lines(log_lines)[2:]
    assert [line["msg"] for line in traced] == ["inside the request", "request"]
    assert all(line["trace_id"] == TRACE_ID for line in traced)
    assert len(untraced) == 2
    assert all("trace_id" not in line for line in untraced)


class Collector:
    """An OTLP/HTTP trace collector: keeps every span posted to /v1/traces."""

    def __init__(self) -> None:
        self.spans: list[Any] = []
        received = self.spans

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                for resource_spans in request.resource_spans:
                    service = {
                        a.key: a.value.string_value for a in resource_spans.resource.attributes
                    }["service.name"]
                    for scope_spans in resource_spans.scope_spans:
                        received.extend((service, self.path, s) for s in scope_spans.spans)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Collector:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()


async def test_each_request_is_a_span_sent_over_otlp_as_the_traceparent_s_child(
    log_lines: io.StringIO,
) -> None:
    with Collector() as collector:
        app = _app(otel_exporter_otlp_endpoint=collector.endpoint)
        async with (
            LifespanManager(app),
            AsyncClient(transport=ASGITransport(app=app), base_url="http://svc") as client,
        ):
            await client.get(f"/api/{USER_ID}/things/1", headers={"traceparent": TRACEPARENT})
            await client.get(f"/api/{USER_ID}/things/oops")
        # The lifespan's end sent the spans still batched.

    assert len(collector.spans) == 2
    (service, path, child), (_, _, root) = collector.spans
    assert (service, path) == ("todo-test", "/v1/traces")
    assert child.name == root.name == "GET /api/{user_id}/things/{thing_id}"
    assert child.trace_id.hex() == TRACE_ID
    assert child.parent_span_id.hex() == PARENT_ID
    assert root.parent_span_id == b""  # no traceparent: a trace of its own
    attributes = {a.key: a.value for a in child.attributes}
    assert attributes["http.route"].string_value == "/api/{user_id}/things/{thing_id}"
    assert attributes["http.response.status_code"].int_value == 200
    assert {a.key: a.value for a in root.attributes}["http.response.status_code"].int_value == 400
    assert USER_ID not in str(collector.spans)
    # The log lines name the span's trace, the new one too.
    traces = [line.get("trace_id") for line in _lines(log_lines)]
    assert traces == [TRACE_ID, TRACE_ID, root.trace_id.hex()]

"""Traces that join up: the W3C `traceparent` a request arrives with (from the client, else
from nginx, which makes one) names its trace in every log line the request writes
(`trace_id`), and, when OTEL_EXPORTER_OTLP_ENDPOINT is set, each request is an OpenTelemetry
span, exported over OTLP/HTTP, a child of that `traceparent`.

Off (the default), a request costs one look at its headers; on, the SDK's span and its
batching exporter (a thread per worker, off the request path).
"""

from __future__ import annotations

import re
from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from todo_shared.observability import UNMATCHED_ROUTE, HttpMiddleware, trace_id_var

# version-traceid-parentid-flags, lower-case hex (W3C Trace Context, level 1).
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(?:-.*)?")
_INVALID_TRACE = "0" * 32
_INVALID_SPAN = "0" * 16


def trace_id_of(traceparent: str) -> str | None:
    """The trace id of a well-formed `traceparent`, else None (an all-zero id, or version
    ff, is invalid; a later version may append fields)."""
    match = _TRACEPARENT.fullmatch(traceparent)
    if match is None or match[1] == "ff" or (match[1] == "00" and len(traceparent) != 55):
        return None
    if match[2] == _INVALID_TRACE or match[3] == _INVALID_SPAN:
        return None
    return match[2]


def _traceparent(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"traceparent":
            header: str = value.decode("latin-1")
            return header
    return None


class TraceContextMiddleware(HttpMiddleware):
    """Without an exporter: the incoming trace id, for the log lines."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        header = _traceparent(scope)
        token = trace_id_var.set(trace_id_of(header) if header else None)
        try:
            await self.app(scope, receive, send)
        finally:
            trace_id_var.reset(token)


class _AsgiHeaders(Getter[Scope]):
    """The propagator's view of an ASGI scope's headers."""

    def get(self, carrier: Scope, key: str) -> list[str] | None:
        wanted = key.lower().encode("latin-1")
        found = [value.decode("latin-1") for name, value in carrier["headers"] if name == wanted]
        return found or None

    def keys(self, carrier: Scope) -> list[str]:
        return [name.decode("latin-1") for name, _ in carrier["headers"]]


_PROPAGATOR = TraceContextTextMapPropagator()
_GETTER = _AsgiHeaders()


class SpanMiddleware(HttpMiddleware):
    """Each request a server span, named by its method and route template (never the path),
    the child of its `traceparent`; its trace id goes into the log lines."""

    def __init__(self, app: ASGIApp, *, tracer: trace.Tracer) -> None:
        super().__init__(app)
        self.tracer = tracer

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        parent = _PROPAGATOR.extract(scope, getter=_GETTER)
        with self.tracer.start_as_current_span(
            method, context=parent, kind=trace.SpanKind.SERVER
        ) as span:
            token = trace_id_var.set(format(span.get_span_context().trace_id, "032x"))
            status = 0

            async def send_status(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await self.app(scope, receive, send_status)
            finally:
                route = getattr(scope.get("route"), "path", UNMATCHED_ROUTE)
                span.update_name(f"{method} {route}")
                attributes: dict[str, Any] = {"http.request.method": method, "http.route": route}
                if status:
                    attributes["http.response.status_code"] = status
                span.set_attributes(attributes)
                if status >= 500:
                    span.set_status(trace.StatusCode.ERROR)
                trace_id_var.reset(token)


def tracer_provider(service_name: str, endpoint: str) -> TracerProvider:
    """Spans of `service_name`, batched to the OTLP/HTTP collector at `endpoint` (its
    `/v1/traces`); `shutdown()` sends what is left."""
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    exporter = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def install_tracing(app: Any, provider: TracerProvider | None) -> None:
    """Spans with a provider, else only the trace id for the logs."""
    if provider is None:
        app.add_middleware(TraceContextMiddleware)
    else:
        app.add_middleware(SpanMiddleware, tracer=provider.get_tracer("todo_shared"))

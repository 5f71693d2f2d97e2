"""OpenTelemetry spans, when OTEL_EXPORTER_OTLP_ENDPOINT is set: each request a server span,
exported over OTLP/HTTP, the child of the W3C `traceparent` it arrived with (from the client,
else from nginx, which makes one). The trace id reaches every log line either way
(`observability.RequestLogMiddleware`, which reads the `traceparent` itself when there is no
span, in the pass over the headers it makes anyway: off, tracing costs no middleware).

On, a request costs the SDK's span; its batching exporter is a thread per worker, off the
request path.
"""

from __future__ import annotations

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


def install_tracing(app: Any, provider: TracerProvider) -> None:
    """A span per request, outside the request log (whose lines carry the span's trace id)."""
    app.add_middleware(SpanMiddleware, tracer=provider.get_tracer("todo_shared"))

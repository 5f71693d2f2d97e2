"""JSON logs carrying a request id (and the trace id), and the ASGI middleware every request
passes through: the client's address, the request log, the request metrics, the 500 of an
unhandled error and the body limit.

Pure ASGI rather than BaseHTTPMiddleware: these run on every request of the hot path.
"""

from __future__ import annotations

import contextvars
import ipaddress
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from todo_shared.errors import AppError, PayloadTooLarge
from todo_shared.metrics import HTTP_LATENCY, HTTP_REQUESTS

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
# The W3C trace the request belongs to (todo_shared.tracing sets it).
trace_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace_id", default=None)
access_logger = logging.getLogger("todo.access")
error_logger = logging.getLogger("todo.errors")

_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_PROBE_PATHS = frozenset({"/healthz", "/readyz"})
# A method label takes one of these (any other token a client sends is "other"), and a request
# no route matched is counted under this route: label values stay few whatever clients send.
_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})
UNMATCHED_ROUTE = "unmatched"
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id and any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        trace_id = trace_id_var.get()
        if trace_id:
            entry["trace_id"] = trace_id
        entry.update({k: v for k, v in vars(record).items() if k not in _RESERVED})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str) -> None:
    """Route every logger, uvicorn's included, through one JSON handler on stdout."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Our own access line replaces uvicorn's, which would log the raw query string.
    logging.getLogger("uvicorn.access").disabled = True


class TrustedProxies:
    """Believes `X-Forwarded-For` only when the peer is one of the configured proxy networks."""

    def __init__(self, networks: Iterable[str]) -> None:
        self.networks = [ipaddress.ip_network(net, strict=False) for net in networks]

    def _trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in net for net in self.networks)

    def client_ip(self, scope: Scope) -> str:
        """The nearest address not belonging to a trusted proxy, walking X-Forwarded-For."""
        peer = scope.get("client")
        host = peer[0] if peer else ""
        if not self._trusted(host):
            return host
        forwarded = b",".join(
            value for name, value in scope.get("headers", ()) if name == b"x-forwarded-for"
        )
        hops = [hop.strip() for hop in forwarded.decode("latin-1").split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self._trusted(hop):
                return hop
        return hops[0] if hops else host


async def _send_error(send: Send, error: AppError) -> None:
    """The error handler's response, for the errors a middleware answers itself (the request
    log adds the request id)."""
    body = json.dumps({"detail": error.detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


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


def _request_ids(scope: Scope) -> tuple[str, str | None]:
    """The client's (last well-formed) `X-Request-ID`, else a new one; and the trace id of
    its `traceparent` (from the client, or nginx), if well-formed. One pass over the headers."""
    request_id = ""
    trace_id = None
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _VALID_REQUEST_ID.fullmatch(candidate):
                request_id = candidate
        elif name == b"traceparent":
            trace_id = trace_id_of(value.decode("latin-1"))
    return request_id or uuid.uuid4().hex, trace_id


class HttpMiddleware:
    """A pure ASGI middleware for HTTP requests: anything else (the lifespan) passes through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One HTTP request; each middleware says what it does with it."""
        raise NotImplementedError


class ClientAddressMiddleware(HttpMiddleware):
    """Puts the client's address in the request state (`client_ip`): the peer, or the nearest
    `X-Forwarded-For` hop that is not a trusted proxy."""

    def __init__(self, app: ASGIApp, *, proxies: TrustedProxies) -> None:
        super().__init__(app)
        self.proxies = proxies

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})["client_ip"] = self.proxies.client_ip(scope)
        await self.app(scope, receive, send)


class RequestLogMiddleware(HttpMiddleware):
    """The request id in (the client's, or a new one) and out (`X-Request-ID`, and every log
    line while the request runs), the trace id in every log line, and one access log line
    per request.

    The trace id is the `traceparent`'s, unless a span (todo_shared.tracing, outside this)
    already named the trace: a request without `traceparent` then starts a trace of its own.
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        request_id, trace_id = _request_ids(scope)
        token = request_id_var.set(request_id)
        trace_token = None if trace_id_var.get() else trace_id_var.set(trace_id)
        header = (b"x-request-id", request_id.encode())
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # Container healthchecks probe every few seconds: their successes are DEBUG noise.
            quiet = status < 400 and scope["path"] in _PROBE_PATHS
            access_logger.log(
                logging.DEBUG if quiet else logging.INFO,
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "client_ip": scope.get("state", {}).get("client_ip"),
                },
            )
            request_id_var.reset(token)
            if trace_token is not None:
                trace_id_var.reset(trace_token)


class _RouteMetrics:
    """The label children of one (route, method): made on its first request, then reused, so a
    request costs two dict lookups and no label tuple."""

    __slots__ = ("by_status", "latency", "method", "route")

    def __init__(self, route: str, method: str) -> None:
        self.route = route
        self.method = method
        self.latency = HTTP_LATENCY.labels(route, method)
        self.by_status: dict[int, Any] = {}

    def record(self, status: int, seconds: float) -> None:
        counter = self.by_status.get(status)
        if counter is None:
            counter = self.by_status[status] = HTTP_REQUESTS.labels(
                self.route, self.method, str(status)
            )
        counter.inc()
        self.latency.observe(seconds)


class RequestMetricsMiddleware(HttpMiddleware):
    """Counts each request by route template (the path the router matched, never the raw path:
    a user id is part of the path), method and status, and its time to the first byte.

    Outside the 500 of an unhandled error, so that one is counted too; a request whose client
    went away before any answer is not counted.
    """

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
        self._routes: dict[str, dict[str, _RouteMetrics]] = {}

    def _metrics(self, scope: Scope) -> _RouteMetrics:
        route = getattr(scope.get("route"), "path", UNMATCHED_ROUTE)
        method = scope["method"] if scope["method"] in _METHODS else "other"
        by_method = self._routes.get(route)
        if by_method is None:
            by_method = self._routes[route] = {}
        metrics = by_method.get(method)
        if metrics is None:
            metrics = by_method[method] = _RouteMetrics(route, method)
        return metrics

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 0
        first_byte = 0.0

        async def timed_send(message: Message) -> None:
            nonlocal status, first_byte
            if message["type"] == "http.response.start":
                status = message["status"]
                first_byte = time.perf_counter()
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        except Exception:
            status, first_byte = status or 500, first_byte or time.perf_counter()
            raise
        finally:
            if status:
                self._metrics(scope).record(status, first_byte - started)


class UnhandledErrorMiddleware(HttpMiddleware):
    """An unhandled error is logged with its traceback and answered as a JSON 500.

    Here rather than in Starlette's outermost ServerErrorMiddleware, which runs outside the
    request log: its 500 would lack the request id, in the response and in the log line.
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started_response = False

        async def tracking_send(message: Message) -> None:
            nonlocal started_response
            started_response = started_response or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            error_logger.error(
                "unhandled error",
                exc_info=True,
                extra={"request_id": request_id_var.get(), "path": scope["path"]},
            )
            if started_response:
                raise
            await _send_error(send, AppError())


class BodyLimitMiddleware(HttpMiddleware):
    """A body over `max_body_bytes` is a 413 before anything reads it: by its Content-Length,
    or, sent without one, once the bytes read pass the cap."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        super().__init__(app)
        self.max_body_bytes = max_body_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        content_length = next(
            (int(v) for n, v in scope["headers"] if n == b"content-length" and v.isdigit()), None
        )
        if content_length is not None and content_length > self.max_body_bytes:
            await _send_error(send, PayloadTooLarge())
            return
        if content_length is None and scope["method"] not in ("GET", "HEAD", "DELETE"):
            buffered = await self._buffer_body(receive)
            if buffered is None:
                await _send_error(send, PayloadTooLarge())
                return
            receive = buffered
        await self.app(scope, receive, send)

    async def _buffer_body(self, receive: Receive) -> Receive | None:
        """Read a body sent without Content-Length, refusing it once it passes the cap."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        return replay


def install_request_middleware(app: Any, *, max_body_bytes: int, proxies: TrustedProxies) -> None:
    """Outermost first: the address, the log (which reads it), the metrics, the 500, then the
    body limit."""
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=max_body_bytes)
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(RequestMetricsMiddleware)
    app.add_middleware(RequestLogMiddleware)
    app.add_middleware(ClientAddressMiddleware, proxies=proxies)

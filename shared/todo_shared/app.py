"""The FastAPI application both services are built on: middleware, errors, health, lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass
from typing import TypeVar

from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from opentelemetry.sdk.trace import TracerProvider
from redis.asyncio import Redis
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from todo_shared.errors import install_error_handlers
from todo_shared.observability import (
    TrustedProxies,
    configure_logging,
    install_request_middleware,
)
from todo_shared.openapi import DocumentPatch, install_docs, install_openapi, operation_id
from todo_shared.settings import ServiceSettings
from todo_shared.tracing import install_tracing, tracer_provider


@dataclass(frozen=True, kw_only=True)
class ServiceState:
    """What a running service holds (settings, clients, pools, caches), made at start-up.

    A service extends it with its own fields; everything reads it through `service_state`,
    so a reader (and mypy) can follow where each thing comes from, instead of attributes
    set on `app.state` in one place and read back, untyped, in another.
    """

    settings: ServiceSettings
    redis: Redis


StateT = TypeVar("StateT", bound=ServiceState)

# A service's start-up: given the Redis client create_app opened, make the service's state
# (its database, caches, ...), yield it for the app's lifetime, then close what it opened.
ServiceLifespan = Callable[[Redis], AbstractAsyncContextManager[ServiceState]]


def service_state(app: FastAPI, kind: type[StateT]) -> StateT:
    """The running service's state, as the `ServiceState` subclass its lifespan made."""
    state = getattr(app.state, "service", None)
    if not isinstance(state, kind):
        raise RuntimeError(f"no {kind.__name__}: the app's lifespan has not run")
    return state


def state_dependency(kind: type[StateT]) -> Callable[[Request], Awaitable[StateT]]:
    """A FastAPI dependency giving the running service's state as `kind`.

    `async def` though it never waits: FastAPI runs a plain `def` dependency in its thread
    pool, a thread hop on every request (a tenth of a list request's CPU, measured with
    py-spy), and so would any dependency that declares this one if it were a `def`.
    """

    async def get_state(request: Request) -> StateT:
        return service_state(request.app, kind)

    return get_state


@dataclass(frozen=True, slots=True)
class CheckReport:
    """A readiness check made of parts: `ready` decides, `parts` are shown in /readyz."""

    ready: bool
    parts: dict[str, str]


# A readiness check returns None when fine, else a short reason shown in /readyz (or a
# CheckReport, to show its parts); one that raises or takes longer than
# READINESS_TIMEOUT_SECONDS reads as "unreachable".
ReadinessCheck = Callable[[FastAPI], Awaitable[str | CheckReport | None]]

READINESS_TIMEOUT_SECONDS = 2.0


class HeadAsGetMiddleware:
    """HEAD on a GET route answers as GET does, without the body (FastAPI's routes answer only
    the methods they declare, so HEAD would be a 405).

    The request's own scope is changed, and changed back after, rather than copied: the
    middleware outside (the request log, the metrics) read the route the router matched from
    it, and the method the client sent.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        scope["method"] = "GET"
        try:
            await self.app(scope, receive, send_headers_only)
        finally:
            scope["method"] = "HEAD"


def create_redis(settings: ServiceSettings) -> Redis:
    """A client that gives up quickly: Redis is an accelerator here, never a reason to hang."""
    return Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
    )


async def _probe(check: ReadinessCheck, app: FastAPI) -> CheckReport | str | None:
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            return await check(app)
    except Exception:
        return "unreachable"


def _shown(result: CheckReport | str | None) -> tuple[bool, str | dict[str, str]]:
    """(ready, what /readyz shows) of one check's result."""
    if isinstance(result, CheckReport):
        return result.ready, result.parts
    return result is None, result or "ok"


def _health_router(checks: dict[str, ReadinessCheck], retry_after_seconds: int) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process answers; says nothing about its dependencies."""
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        """Ready to serve: every dependency a request needs is reachable."""
        results = await asyncio.gather(*(_probe(check, request.app) for check in checks.values()))
        shown = [_shown(result) for result in results]
        status = {name: detail for name, (_, detail) in zip(checks, shown, strict=True)}
        if not all(ready for ready, _ in shown):
            retry = {"Retry-After": str(retry_after_seconds)}
            return JSONResponse({"detail": status}, 503, headers=retry)
        return JSONResponse({"status": "ok", "checks": status})

    return router


HTTP_METHODS = ("DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT")


async def method_not_allowed(request: Request, _: Exception) -> JSONResponse:
    """405 with `Allow` naming every method of the path: Starlette names only the methods of
    the route it tried, and FastAPI makes one route per method."""
    routes = request.app.router.routes
    allowed = {
        method
        for method in HTTP_METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    }
    if "GET" in allowed:  # HeadAsGetMiddleware
        allowed.add("HEAD")
    return JSONResponse(
        {"detail": "method not allowed"}, 405, headers={"Allow": ", ".join(sorted(allowed))}
    )


def _lifespan(
    settings: ServiceSettings,
    service_lifespan: ServiceLifespan | None,
    tracing: TracerProvider | None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Logging and Redis, then the service's own start-up, whose state the app holds; at the
    end, the spans not sent yet."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level)
        redis = create_redis(settings)
        try:
            async with (
                nullcontext(ServiceState(settings=settings, redis=redis))
                if service_lifespan is None
                else service_lifespan(redis)
            ) as state:
                app.state.service = state
                yield
        finally:
            await redis.aclose()
            if tracing is not None:
                tracing.shutdown()

    return lifespan


def _install_cors(
    app: FastAPI,
    origins: Sequence[str],
    request_headers: Sequence[str],
    response_headers: Sequence[str],
) -> None:
    """The headers every service has, plus the service's own."""
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-Request-ID", *request_headers],
        expose_headers=["X-Request-ID", "Retry-After", *response_headers],
    )


def create_app(
    settings: ServiceSettings,
    *,
    title: str,
    service_name: str = "todo",
    description: str = "",
    routers: Sequence[APIRouter],
    openapi_url: str = "/openapi.json",
    openapi_patches: Sequence[DocumentPatch] = (),
    docs: tuple[str, dict[str, str]] | None = None,
    service_lifespan: ServiceLifespan | None = None,
    readiness_checks: dict[str, ReadinessCheck] | None = None,
    cors_request_headers: Sequence[str] = (),
    cors_response_headers: Sequence[str] = (),
) -> FastAPI:
    """Build a service: Redis, then the service's own start-up (`service_lifespan`), which
    opens its database its own way and names the readiness check of it in `readiness_checks`.

    The OpenAPI document is served at `openapi_url`, and `docs` (`(path, {name: url})`) is a
    Swagger UI page of those documents, unless `API_DOCS` is off. A browser may send the
    service's own `cors_request_headers` and read its `cors_response_headers`, beside the
    ones every service has. Spans (OTEL_EXPORTER_OTLP_ENDPOINT) carry `service_name`.
    """
    tracing = (
        tracer_provider(service_name, settings.otel_exporter_otlp_endpoint)
        if settings.otel_exporter_otlp_endpoint
        else None
    )

    app = FastAPI(
        title=title,
        description=description,
        lifespan=_lifespan(settings, service_lifespan, tracing),
        openapi_url=openapi_url if settings.api_docs else None,
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    install_openapi(app, openapi_patches)
    if settings.api_docs and docs is not None:
        install_docs(app, *docs)
    install_error_handlers(app, retry_after_seconds=settings.retry_after_seconds)
    app.add_middleware(HeadAsGetMiddleware)
    app.add_exception_handler(405, method_not_allowed)
    _install_cors(app, settings.cors_origins, cors_request_headers, cors_response_headers)
    install_request_middleware(
        app,
        max_body_bytes=settings.max_body_bytes,
        proxies=TrustedProxies(settings.trusted_proxies),
    )
    if tracing is not None:
        install_tracing(app, tracing)
    app.include_router(_health_router(readiness_checks or {}, settings.retry_after_seconds))
    for router in routers:
        app.include_router(router)
    return app

"""One error base class, rendered by one handler, so every error body is `{"detail": ...}`."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import SecretStr
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("todo.errors")


class AppError(Exception):
    """An error with the status, body and headers the client should see."""

    status_code = 500
    detail: Any = "internal server error"

    def __init__(self, detail: Any = None, *, headers: dict[str, str] | None = None) -> None:
        if detail is not None:
            self.detail = detail
        self.headers = headers
        super().__init__(self.detail)


class Unauthorized(AppError):
    status_code = 401
    detail = "invalid token"

    def __init__(self, detail: Any = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(AppError):
    status_code = 403
    detail = "forbidden"


class NotFound(AppError):
    status_code = 404
    detail = "not found"


class Conflict(AppError):
    status_code = 409
    detail = "conflict"


def invalid(loc: tuple[str, str], msg: str, kind: str) -> RequestValidationError:
    """A 400 for a value the request's schema allowed but the handler refuses (a cursor it
    never issued, a limit past a configured bound), in the same body as schema errors."""
    return RequestValidationError([{"loc": loc, "msg": msg, "type": kind}])


def unissued_cursor(loc: tuple[str, str]) -> RequestValidationError:
    """A 400 for a paging or resume cursor that is not one this service handed out."""
    return invalid(loc, "Not a cursor this service issued", "cursor")


class Gone(AppError):
    status_code = 410
    detail = "gone"


class PreconditionFailed(AppError):
    status_code = 412
    detail = "precondition failed"


class PayloadTooLarge(AppError):
    status_code = 413
    detail = "request body too large"


class TooManyRequests(AppError):
    status_code = 429
    detail = "too many requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__(headers={"Retry-After": str(max(1, retry_after))})


class ServiceUnavailable(AppError):
    status_code = 503
    detail = "service temporarily unavailable"

    def __init__(self, retry_after: int = 5, detail: Any = None) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


def _message(error: Any) -> str:
    """Pydantic's message, in words a person reads: a validator's own sentence without the
    "Value error, " prefix, and a text's length in characters (a secret's limit says "items")."""
    message: str = error.get("msg", "")
    context = error.get("ctx") or {}
    kind = error.get("type")
    text = isinstance(error.get("input"), str | SecretStr)
    if kind == "string_too_short" or (text and kind == "too_short"):
        least = context.get("min_length", 1)
        return "must not be empty" if least == 1 else f"should be at least {least} characters"
    if (kind == "string_too_long" or (text and kind == "too_long")) and "max_length" in context:
        return f"should be at most {context['max_length']} characters"
    return message.removeprefix("Value error, ")


def validation_details(errors: Any) -> list[dict[str, Any]]:
    """Field errors without the submitted values: those may hold a password."""
    return [
        {"loc": list(error.get("loc", ())), "msg": _message(error), "type": error.get("type")}
        for error in errors
    ]


# What a refused, lost, restarting or overloaded database raises, at any layer: the socket,
# asyncpg (class 08 connection errors, 53 insufficient resources, 57 operator intervention such
# as "the database system is shutting down", a protocol left in a broken state, "connection is
# closed"), SQLAlchemy's wrappers and its pool.
_OUTAGES: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable; TimeoutError (a statement timeout) is one too
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.InternalClientError,  # "cannot switch to state N": the connection died mid-protocol
    OperationalError,
    PoolTimeoutError,
)
# asyncpg.InterfaceError means a closed or busy connection, except for these: bad arguments.
_INTERFACE_BUGS = (asyncpg.exceptions.DataError, asyncpg.exceptions.ClientConfigurationError)


def is_outage(exc: BaseException) -> bool:
    """A lost or refused connection (retry later), as opposed to a bug such as a bad query.

    Looks through the wrappers (SQLAlchemy's `orig`, then `__cause__`): SQLAlchemy reports most
    asyncpg failures as a plain `DBAPIError` whose cause says what happened.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, _OUTAGES):
            return True
        if isinstance(current, asyncpg.InterfaceError | InterfaceError) and not isinstance(
            current, _INTERFACE_BUGS
        ):
            return True
        orig = current.orig if isinstance(current, DBAPIError) else None
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return False


def _render(error: AppError) -> JSONResponse:
    return JSONResponse({"detail": error.detail}, error.status_code, headers=error.headers)


def install_error_handlers(app: FastAPI, *, retry_after_seconds: int) -> None:
    """Map every failure to a JSON body: 400 for validation, 503 for a database outage."""

    async def on_app_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AppError)
        return _render(exc)

    async def on_validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse({"detail": validation_details(exc.errors())}, 400)

    async def on_http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail: Any = exc.detail
        if exc.status_code == 400:  # FastAPI's "error parsing the body" (e.g. not UTF-8)
            detail = [{"loc": ["body"], "msg": exc.detail, "type": "body_invalid"}]
        return JSONResponse({"detail": detail}, exc.status_code, headers=exc.headers)

    async def on_database_error(request: Request, exc: Exception) -> JSONResponse:
        if not is_outage(exc):
            raise exc  # a bug: UnhandledErrorMiddleware logs it and answers 500
        logger.warning(
            "database unavailable",
            extra={"path": request.url.path, "error": type(exc).__name__},
        )
        return _render(ServiceUnavailable(retry_after_seconds))

    app.add_exception_handler(AppError, on_app_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    for db_error in (DBAPIError, *_OUTAGES, asyncpg.InterfaceError):
        app.add_exception_handler(db_error, on_database_error)

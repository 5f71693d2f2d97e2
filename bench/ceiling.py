"""The ceiling: the least code that does the work of GET list, POST create and PATCH, to measure
the tasks service against.

Starlette + asyncpg + PyJWT: verify the same EdDSA token against the same public key (handed
over by the harness, which fetched the JWKS once), one statement, no ORM, no validation layer
beyond what keeps the statement from failing. It lives in `bench/` only and is never shipped.
Run by the harness as `uvicorn bench.ceiling:app --workers N` with CEILING_DATABASE_URL,
CEILING_JWKS (JSON), CEILING_ISSUER and CEILING_AUDIENCE in the environment.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import jwt
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from todo_tasks.schemas.task import TaskPublic

# What the service answers, so both sides read and encode the same columns.
FIELDS = tuple(TaskPublic.__annotations__)
WRITABLE = ("title", "description", "completed")
COLUMNS = ", ".join(FIELDS)
# The page and the total in one statement, the way the service reads them: the page from the
# (user_id, created_at, id) index, the total from the per-user counts (migration 0002).
LIST_QUERY = f"""
SELECT {COLUMNS}, coalesce((SELECT total FROM task_counts WHERE user_id = $1), 0) AS total
FROM tasks WHERE user_id = $1
ORDER BY created_at DESC, id DESC
LIMIT $2 OFFSET $3
"""  # noqa: S608  # constants only
INSERT = f"""
INSERT INTO tasks (user_id, title, description, completed) VALUES ($1, $2, $3, $4)
RETURNING {COLUMNS}
"""  # noqa: S608  # constants only

KEYS = {key.key_id: key for key in jwt.PyJWKSet.from_json(os.environ["CEILING_JWKS"])}
ISSUER = os.environ["CEILING_ISSUER"]
AUDIENCE = os.environ["CEILING_AUDIENCE"]


def _error(status: int, detail: str) -> Response:
    return Response(orjson.dumps({"detail": detail}), status, media_type="application/json")


def _subject(authorization: str) -> str | None:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    try:
        key = KEYS[jwt.get_unverified_header(token).get("kid")]
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=["EdDSA"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except (jwt.InvalidTokenError, KeyError):
        return None
    return str(claims["sub"])


def _owner(request: Request) -> str | Response:
    """The path's user when the token is theirs, else the error to answer."""
    subject = _subject(request.headers.get("authorization", ""))
    if subject is None:
        return _error(401, "invalid token")
    user_id: str = request.path_params["user_id"]
    if subject != user_id:
        return _error(403, "forbidden")
    return user_id


async def _body(request: Request) -> dict[str, Any] | None:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


def _task(row: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(dict(row)), status, media_type="application/json")


async def list_tasks(request: Request) -> Response:
    user_id = _owner(request)
    if isinstance(user_id, Response):
        return user_id
    try:
        limit = int(request.query_params.get("limit", "100"))
        offset = int(request.query_params.get("offset", "0"))
    except ValueError:
        return _error(400, "bad paging")
    pool: asyncpg.Pool = request.app.state.pool
    rows = await pool.fetch(LIST_QUERY, user_id, limit, offset)
    body = orjson.dumps([{field: row[field] for field in FIELDS} for row in rows])
    total = str(rows[0]["total"] if rows else 0)
    return Response(body, media_type="application/json", headers={"X-Total-Count": total})


async def create_task(request: Request) -> Response:
    user_id = _owner(request)
    if isinstance(user_id, Response):
        return user_id
    body = await _body(request)
    if body is None or not isinstance(body.get("title"), str):
        return _error(400, "bad body")
    pool: asyncpg.Pool = request.app.state.pool
    row = await pool.fetchrow(
        INSERT, user_id, body["title"], body.get("description"), body.get("completed", False)
    )
    response = _task(row, 201)
    response.headers["Location"] = f"/api/{user_id}/tasks/{row['id']}"
    return response


async def update_task(request: Request) -> Response:
    """Sets the fields sent, in one UPDATE built for them (as the service's PATCH does)."""
    user_id = _owner(request)
    if isinstance(user_id, Response):
        return user_id
    body = await _body(request)
    if body is None:
        return _error(400, "bad body")
    fields = [name for name in WRITABLE if name in body]
    assignments = "".join(f"{name} = ${n}, " for n, name in enumerate(fields, start=3))
    statement = (
        f"UPDATE tasks SET {assignments}updated_at = now() "  # noqa: S608  # names from WRITABLE
        f"WHERE id = $1 AND user_id = $2 RETURNING {COLUMNS}"
    )
    pool: asyncpg.Pool = request.app.state.pool
    task_id = request.path_params["task_id"]
    row = await pool.fetchrow(statement, task_id, user_id, *(body[name] for name in fields))
    return _error(404, "not found") if row is None else _task(row)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(
        os.environ["CEILING_DATABASE_URL"], min_size=4, max_size=10
    )
    try:
        yield
    finally:
        await app.state.pool.close()


app = Starlette(
    routes=[
        Route("/api/{user_id}/tasks", list_tasks, methods=["GET"]),
        Route("/api/{user_id}/tasks", create_task, methods=["POST"]),
        Route("/api/{user_id}/tasks/{task_id:int}", update_task, methods=["PATCH"]),
    ],
    lifespan=lifespan,
)

"""The ceiling: the least code that does GET list's work, to measure the tasks service against.

Starlette + asyncpg + PyJWT: verify the same EdDSA token against the same public key (handed
over by the harness, which fetched the JWKS once), one indexed query, no ORM, no validation
layer. It lives in `bench/` only and is never shipped. Run by the harness as
`uvicorn bench.ceiling:app --workers N` with CEILING_DATABASE_URL, CEILING_JWKS (JSON),
CEILING_ISSUER and CEILING_AUDIENCE in the environment.
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

# The page and the total in one statement, the way the service reads them: the page from the
# (user_id, created_at, id) index, the total from the per-user counts (migration 0002).
LIST_QUERY = """
SELECT id, user_id, title, description, completed, created_at, updated_at,
       coalesce((SELECT total FROM task_counts WHERE user_id = $1), 0) AS total
FROM tasks WHERE user_id = $1
ORDER BY created_at DESC, id DESC
LIMIT $2 OFFSET $3
"""
FIELDS = ("id", "user_id", "title", "description", "completed", "created_at", "updated_at")

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


async def list_tasks(request: Request) -> Response:
    subject = _subject(request.headers.get("authorization", ""))
    if subject is None:
        return _error(401, "invalid token")
    user_id = request.path_params["user_id"]
    if subject != user_id:
        return _error(403, "forbidden")
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


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(
        os.environ["CEILING_DATABASE_URL"], min_size=4, max_size=10
    )
    try:
        yield
    finally:
        await app.state.pool.close()


app = Starlette(routes=[Route("/api/{user_id}/tasks", list_tasks)], lifespan=lifespan)

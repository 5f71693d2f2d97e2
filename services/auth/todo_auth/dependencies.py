"""What the auth routes declare: the running service, its database, the client address,
the caller of a session endpoint."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Annotated

import jwt
from fastapi import Depends, Request, Security

from todo_auth import repository
from todo_auth.state import AuthState
from todo_shared.app import state_dependency
from todo_shared.db import Database
from todo_shared.errors import Unauthorized
from todo_shared.security import bearer_scheme, bearer_token
from todo_shared.tokens import InvalidToken

logger = logging.getLogger("todo.auth")

StateDep = Annotated[AuthState, Depends(state_dependency(AuthState))]


async def get_database(state: StateDep) -> Database:  # async: see `state_dependency`
    """Each statement commits on its own: no request holds a connection between two of them,
    so none is held while a password hash waits for a bcrypt thread."""
    return state.database


DatabaseDep = Annotated[Database, Depends(get_database)]


async def get_client_ip(request: Request) -> str:  # async: see `state_dependency`
    """Set by the shared middleware, which believes X-Forwarded-For only from trusted proxies."""
    client_ip: str = request.state.client_ip
    return client_ip


ClientIP = Annotated[str, Depends(get_client_ip)]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who calls a session endpoint: the user and the live session of their token."""

    user_id: uuid.UUID
    sid: str


async def get_caller(request: Request, state: StateDep) -> Caller:
    """A token this service signed whose session is live in the database (the truth, so an
    ended session is refused here at once, Redis or not); any failure is one generic 401."""
    try:
        claims = await state.keys.verify(bearer_token(request))
    except (InvalidToken, jwt.InvalidTokenError) as exc:
        logger.info("token refused", extra={"reason": str(exc), "path": request.url.path})
        raise Unauthorized from None
    sid = claims.get("sid")
    session = await repository.live_session(state.database, sid) if isinstance(sid, str) else None
    if session is None or str(session.user_id) != claims["sub"]:
        logger.info("token refused", extra={"reason": "no live session", "path": request.url.path})
        raise Unauthorized
    return Caller(user_id=session.user_id, sid=session.id)


CallerDep = Annotated[Caller, Depends(get_caller)]
# On each route of CallerDep: declares the scheme in OpenAPI (`bearerAuth`).
BEARER = Security(bearer_scheme)


MAX_USER_AGENT = 512  # the column's length


async def get_user_agent(request: Request) -> str | None:  # async: see `state_dependency`
    """The client's `User-Agent`, shown in its session list (cut to the column's length)."""
    agent = request.headers.get("user-agent")
    return agent[:MAX_USER_AGENT] if agent else None


UserAgent = Annotated[str | None, Depends(get_user_agent)]

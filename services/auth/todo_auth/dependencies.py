"""What the auth routes declare: the running service, its database, the client address."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from todo_auth.state import AuthState
from todo_shared.app import state_dependency
from todo_shared.db import Database

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

"""What the auth routes declare: the running service, a database session, the client address."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from todo_auth.state import AuthState
from todo_shared.app import state_dependency

StateDep = Annotated[AuthState, Depends(state_dependency(AuthState))]


async def get_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed before the response is sent, else rolled back.

    A route may commit early to hand its connection back to the pool before slow work that
    needs no database (bcrypt); whatever it does afterwards is committed here.
    """
    async with state.sessionmaker() as session:
        yield session  # an error raised by the route surfaces here: no commit, the close rolls back
        await session.commit()


# scope="function": the commit runs when the route returns, before the response is sent.
# With FastAPI's default ("request") it would run after the client already has its 201, so
# a login right after signup could miss the user, and a failed commit could not be reported.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_client_ip(request: Request) -> str:  # async: see `state_dependency`
    """Set by the shared middleware, which believes X-Forwarded-For only from trusted proxies."""
    client_ip: str = request.state.client_ip
    return client_ip


ClientIP = Annotated[str, Depends(get_client_ip)]

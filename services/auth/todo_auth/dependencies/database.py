"""The request's database session: one transaction per request."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed before the response is sent, else rolled back.

    A route may commit early to hand its connection back to the pool before slow work that
    needs no database (bcrypt); whatever it does afterwards is committed here.
    """
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        yield session  # an error raised by the route surfaces here: no commit, the close rolls back
        await session.commit()


# scope="function": the commit runs when the route returns, before the response is sent.
# With FastAPI's default ("request") it would run after the client already has its 201, so
# a login right after signup could miss the user, and a failed commit could not be reported.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

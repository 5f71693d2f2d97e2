"""The request's database session: one transaction per request."""

from typing import Annotated

from fastapi import Depends
from sqlmodel.ext.asyncio.session import AsyncSession

from todo_shared.db import get_session

# scope="function": the commit runs when the route returns, before the response is sent.
# With FastAPI's default ("request") it would run after the client already has its 201, so
# a login right after signup could miss the user, and a failed commit could not be reported.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

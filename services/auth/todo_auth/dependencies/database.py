"""The request's database session: one transaction per request."""

from typing import Annotated

from fastapi import Depends
from sqlmodel.ext.asyncio.session import AsyncSession

from todo_shared.db import get_session

SessionDep = Annotated[AsyncSession, Depends(get_session)]

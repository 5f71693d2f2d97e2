"""Who is calling, and whether the path names them: every task route hangs off `OwnerId`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from todo_shared.errors import Forbidden
from todo_shared.security import CurrentUser

__all__ = ["CurrentUser", "OwnerId"]


async def owner_id(user_id: Annotated[str, Path()], user: CurrentUser) -> str:
    """The path's user id once it is proven to be the token's subject.

    Runs before the task is looked up, so a foreign user id is a 403 whether or not the task
    exists, and nothing about another user's tasks can be learnt from the status code.
    """
    if user_id != user.subject:
        raise Forbidden
    return user.subject


OwnerId = Annotated[str, Depends(owner_id)]

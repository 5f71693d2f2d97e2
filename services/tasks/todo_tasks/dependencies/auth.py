"""Who is calling, and whether the path names them: every task route hangs off `OwnerId`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from todo_shared.errors import Forbidden
from todo_shared.security import AuthenticatedRoute, CurrentUser
from todo_shared.tokens import VerifiedToken

__all__ = ["CurrentUser", "OwnerId", "OwnerRoute"]


def _require_owner(user_id: str, caller: VerifiedToken) -> None:
    """Checked before the task is looked up, so a foreign user id is a 403 whether or not the
    task exists, and nothing about another user's tasks can be learnt from the status code."""
    if user_id != caller.subject:
        raise Forbidden


class OwnerRoute(AuthenticatedRoute):
    """401, then 403, are settled before the body is read: neither depends on what was sent."""

    def authorize(self, request: Request, caller: VerifiedToken) -> None:
        _require_owner(request.path_params["user_id"], caller)


async def owner_id(user_id: Annotated[str, Path()], user: CurrentUser) -> str:
    """The path's user id once it is proven to be the token's subject."""
    _require_owner(user_id, user)
    return user.subject


OwnerId = Annotated[str, Depends(owner_id)]

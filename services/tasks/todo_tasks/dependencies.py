"""What the task routes declare: the proven owner (every task route is an `OwnerRoute`), the
running service and its database (see `todo_shared.db` for why it is not a Session)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from todo_shared.app import state_dependency
from todo_shared.db import Database
from todo_shared.errors import Forbidden
from todo_shared.security import AuthenticatedRoute, CurrentUser
from todo_shared.tokens import VerifiedToken
from todo_tasks.state import TasksState


def require_owner(user_id: str, caller: VerifiedToken) -> str:
    """The one owner check: the path's user must be the token's subject. It runs before any
    task is looked up, so a foreign user id is a 403 whether or not the task exists, and
    nothing about another user's tasks can be learnt from the status code."""
    if user_id != caller.subject:
        raise Forbidden
    return user_id


class OwnerRoute(AuthenticatedRoute):
    """401, then 403, are settled before the body is read: neither depends on what was sent."""

    def authorize(self, request: Request, caller: VerifiedToken) -> None:
        require_owner(request.path_params["user_id"], caller)


async def owner_id(caller: CurrentUser, user_id: Annotated[str, Path()]) -> str:
    """The path's user id, checked against the caller's token: a handler's owner."""
    return require_owner(user_id, caller)


OwnerId = Annotated[str, Depends(owner_id)]


StateDep = Annotated[TasksState, Depends(state_dependency(TasksState))]


async def get_database(state: StateDep) -> Database:  # async: see `state_dependency`
    return state.database


DatabaseDep = Annotated[Database, Depends(get_database)]

"""What the task routes declare: the proven owner (every task route is an `OwnerRoute`), the
running service and its database (see `todo_tasks.database` for why it is not a Session)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from todo_shared.app import state_dependency
from todo_shared.errors import Forbidden
from todo_shared.security import AuthenticatedRoute
from todo_shared.tokens import VerifiedToken
from todo_tasks.database import Database
from todo_tasks.state import TasksState


class OwnerRoute(AuthenticatedRoute):
    """401, then 403, are settled before the body is read: neither depends on what was sent."""

    def authorize(self, request: Request, caller: VerifiedToken) -> None:
        """The one owner check. It runs before the task is looked up, so a foreign user id is a
        403 whether or not the task exists, and nothing about another user's tasks can be
        learnt from the status code."""
        if request.path_params["user_id"] != caller.subject:
            raise Forbidden
        request.state.owner_id = caller.subject


async def owner_id(request: Request, user_id: Annotated[str, Path()]) -> str:
    """The path's user id, which `OwnerRoute` has proven to be the token's subject (declared
    here so it is a documented, validated path parameter). Outside an `OwnerRoute` there is
    no proven owner, and this fails rather than trust the path."""
    owner: str = request.state.owner_id
    return owner


OwnerId = Annotated[str, Depends(owner_id)]


StateDep = Annotated[TasksState, Depends(state_dependency(TasksState))]


async def get_database(state: StateDep) -> Database:  # async: see `state_dependency`
    return state.database


DatabaseDep = Annotated[Database, Depends(get_database)]

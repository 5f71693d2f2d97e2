"""What the task routes declare: the proven owner (every task route is an `OwnerRoute`), the
running service and its database (see `todo_tasks.database` for why it is not a Session)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from todo_shared.app import service_state
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


# These dependencies are `async def` though they never wait: FastAPI runs a plain `def`
# dependency in its thread pool, two thread hops on every request (a tenth of a list
# request's CPU, measured with py-spy).
async def get_state(request: Request) -> TasksState:
    return service_state(request.app, TasksState)


StateDep = Annotated[TasksState, Depends(get_state)]


async def get_database(state: StateDep) -> Database:
    return state.database


DatabaseDep = Annotated[Database, Depends(get_database)]

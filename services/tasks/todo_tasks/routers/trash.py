"""The trash under `/api/{user_id}/trash`: what a delete moved there, latest first, until it
is restored (`POST /api/{user_id}/tasks/{task_id}/restore`), discarded or purged after
TRASH_RETENTION_DAYS (`todo_tasks.purge`)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from todo_shared.errors import NotFound
from todo_shared.openapi import errors
from todo_tasks import repository
from todo_tasks.dependencies import DatabaseDep, OwnerId, OwnerRoute, StateDep
from todo_tasks.routers.tasks import Cursor, TaskId, json_response, page_limit, position
from todo_tasks.schemas.responses import DISCARD_RESPONSES, EMPTY_RESPONSES, TRASH_RESPONSES
from todo_tasks.schemas.task import TaskPublic

router = APIRouter(
    prefix="/api/{user_id}/trash",
    tags=["trash"],
    route_class=OwnerRoute,
    responses=errors(401, 403, 503),
)


@router.get("", response_model=list[TaskPublic], responses=TRASH_RESPONSES)
async def list_trash(
    owner: OwnerId, state: StateDep, limit: int | None = None, cursor: Cursor = None
) -> Response:
    """The caller's deleted tasks, latest deleted first, each as it was."""
    page, total, after = await repository.list_trash(
        state.database,
        owner,
        limit=page_limit(state.settings, limit),
        after=position(cursor, 0),
    )
    headers = {"X-Total-Count": str(total)}
    if after is not None:
        headers["X-Next-Cursor"] = repository.encode_position(after)
    return json_response(page, headers=headers)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT, responses=EMPTY_RESPONSES)
async def empty_trash(owner: OwnerId, db: DatabaseDep) -> Response:
    """Delete every task in the caller's trash for good."""
    await repository.empty_trash(db, owner)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/{task_id}", status_code=status.HTTP_204_NO_CONTENT, responses=DISCARD_RESPONSES)
async def discard_task(owner: OwnerId, db: DatabaseDep, task_id: TaskId) -> Response:
    """Delete one task of the trash for good."""
    if not await repository.discard_task(db, owner, task_id):
        raise NotFound("not in the trash")
    return Response(status_code=status.HTTP_204_NO_CONTENT)

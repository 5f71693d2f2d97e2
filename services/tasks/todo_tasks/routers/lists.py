"""The list endpoints under `/api/{user_id}/lists`: a user's lists, in the order they set.

A task names its list by `list_id` (null: the Inbox, which is no list). Lists are versioned,
conditional (`If-Match`) and in the change feed like tasks.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Response, status

from todo_shared.db import Database
from todo_shared.errors import Conflict, NotFound, PreconditionFailed
from todo_shared.openapi import errors
from todo_tasks import list_repository, repository
from todo_tasks.dependencies import DatabaseDep, OwnerId, OwnerRoute, StateDep
from todo_tasks.routers.tasks import IfMatch, expected_versions, json_response
from todo_tasks.schemas.list import ListCreate, ListMove, ListPublic, ListUpdate
from todo_tasks.schemas.responses import (
    LIST_CREATE_RESPONSES,
    LIST_DELETE_RESPONSES,
    LIST_MOVE_RESPONSES,
    LIST_READ_RESPONSES,
    LIST_WRITE_RESPONSES,
    LISTS_RESPONSES,
)

ListId = Annotated[int, Path(gt=0, le=repository.MAX_BIGINT)]

router = APIRouter(
    prefix="/api/{user_id}/lists",
    tags=["lists"],
    route_class=OwnerRoute,
    responses=errors(401, 403, 503),
)


def _etag(found: ListPublic) -> str:
    return f'"{found["version"]}"'


def _answer(
    found: ListPublic, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return json_response(found, status_code, {**(headers or {}), "ETag": _etag(found)})


async def _not_written(db: Database, owner: str, list_id: int, if_match: str | None) -> Response:
    """Why a write changed nothing: no such list of the caller's (404), or not at a version
    `If-Match` names (412, with the current ETag)."""
    if if_match is not None:
        current = await list_repository.get_list(db, owner, list_id)
        if current is not None:
            raise PreconditionFailed(
                "the list has changed since that version: read it again",
                headers={"ETag": _etag(current)},
            )
    raise NotFound


@router.get("", response_model=list[ListPublic], responses=LISTS_RESPONSES)
async def list_lists(owner: OwnerId, db: DatabaseDep) -> Response:
    """The caller's lists, in their order."""
    found = await list_repository.all_lists(db, owner)
    return json_response(found, headers={"X-Total-Count": str(len(found))})


@router.post(
    "",
    response_model=ListPublic,
    status_code=status.HTTP_201_CREATED,
    responses=LIST_CREATE_RESPONSES,
)
async def create_list(owner: OwnerId, state: StateDep, body: ListCreate) -> Response:
    most = state.settings.lists_per_user
    try:
        created = await list_repository.create_list(state.database, owner, body.name, most=most)
    except list_repository.TooManyLists:
        raise Conflict(f"you have {most} lists, the most there can be") from None
    location = f"/api/{quote(owner, safe='')}/lists/{created['id']}"
    return _answer(created, status.HTTP_201_CREATED, {"Location": location})


@router.get("/{list_id}", response_model=ListPublic, responses=LIST_READ_RESPONSES)
async def read_list(owner: OwnerId, db: DatabaseDep, list_id: ListId) -> Response:
    found = await list_repository.get_list(db, owner, list_id)
    if found is None:
        raise NotFound
    return _answer(found)


@router.patch("/{list_id}", response_model=ListPublic, responses=LIST_WRITE_RESPONSES)
async def rename_list(
    owner: OwnerId, db: DatabaseDep, list_id: ListId, body: ListUpdate, if_match: IfMatch = None
) -> Response:
    expected = expected_versions(if_match)
    renamed = await list_repository.rename_list(db, owner, list_id, body.name, expected)
    if renamed is None:
        return await _not_written(db, owner, list_id, if_match)
    return _answer(renamed)


@router.post("/{list_id}/move", response_model=ListPublic, responses=LIST_MOVE_RESPONSES)
async def move_list(
    owner: OwnerId, db: DatabaseDep, list_id: ListId, body: ListMove, if_match: IfMatch = None
) -> Response:
    """Put the list just `before` or `after` another of the caller's lists, or first."""
    anchor = body.before if body.before is not None else body.after
    place = repository.Placement(anchor, before=body.before is not None)
    expected = expected_versions(if_match)
    moved = await list_repository.move_list(db, owner, list_id, place, expected)
    if moved is None:
        return await _not_written(db, owner, list_id, if_match)
    return _answer(moved)


@router.delete(
    "/{list_id}", status_code=status.HTTP_204_NO_CONTENT, responses=LIST_DELETE_RESPONSES
)
async def delete_list(
    owner: OwnerId,
    db: DatabaseDep,
    list_id: ListId,
    with_tasks: Annotated[
        bool, Query(description="Move the list's tasks to the trash with it.")
    ] = False,
    if_match: IfMatch = None,
) -> Response:
    """Delete an empty list, or with `with_tasks=true` a list and (into the trash) its tasks."""
    expected = expected_versions(if_match)
    try:
        deleted = await list_repository.delete_list(
            db, owner, list_id, with_tasks=with_tasks, expected=expected
        )
    except list_repository.ListNotEmpty:
        raise Conflict(
            "the list still holds tasks: move them first, or delete it with with_tasks=true "
            "to move them to the trash with it"
        ) from None
    if not deleted:
        return await _not_written(db, owner, list_id, if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

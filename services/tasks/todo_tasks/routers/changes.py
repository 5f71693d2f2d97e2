"""The change feed under `/api/{user_id}/changes`: what changed since a cursor, never skipping."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Response

from todo_shared.errors import Gone, unissued_cursor
from todo_shared.openapi import errors
from todo_tasks import repository
from todo_tasks.dependencies import OwnerId, OwnerRoute, StateDep
from todo_tasks.schemas.changes import Change, ChangesPage
from todo_tasks.schemas.responses import CHANGES_RESPONSES
from todo_tasks.state import TasksState

CHANGES_LIMIT_MAX = 1000
CHANGES_LIMIT_DEFAULT = 500

Since = Annotated[
    str | None,
    Query(
        max_length=64,
        description="The `cursor` of the previous answer. Without it the feed starts from "
        "the beginning: every live task.",
    ),
]

router = APIRouter(
    prefix="/api/{user_id}",
    tags=["changes"],
    route_class=OwnerRoute,
    responses=errors(401, 403, 503),
)


async def read_changes(
    state: TasksState, owner: str, cursor: str | None, limit: int, where: tuple[str, str]
) -> tuple[list[tuple[int, Change]], repository.FeedPosition, bool]:
    """A page of the feed after `cursor` (sent at `where`): a cursor the service did not
    issue is a 400 there, one older than the feed keeps a 410."""
    position = None
    if cursor is not None:
        position = repository.FeedPosition.decode(cursor)
        if position is None:
            raise unissued_cursor(where)
    retention = timedelta(days=state.settings.change_retention_days)
    try:
        return await repository.changes(state.database, owner, position, limit, retention=retention)
    except repository.FeedRefused as refused:
        if refused.gone:
            raise Gone(
                "this cursor is older than the change feed keeps: read it again from the "
                "start, without `since`"
            ) from None
        raise unissued_cursor(where) from None


@router.get("/changes", response_model=ChangesPage, responses=CHANGES_RESPONSES)
async def list_changes(
    owner: OwnerId,
    state: StateDep,
    since: Since = None,
    limit: Annotated[int, Query(ge=1, le=CHANGES_LIMIT_MAX)] = CHANGES_LIMIT_DEFAULT,
) -> Response:
    """The caller's changes after `since`, in the order they committed: apply them in order,
    then call again with `cursor` (at once while `has_more`). Nothing that commits later is
    ever numbered before a cursor already given out, so reading to the end again and again
    misses no change."""
    changes, resume, more = await read_changes(state, owner, since, limit, ("query", "since"))
    page: ChangesPage = {
        "changes": [change for _, change in changes],
        "cursor": resume.encode(),
        "has_more": more,
    }
    return Response(orjson.dumps(page), 200, media_type="application/json")

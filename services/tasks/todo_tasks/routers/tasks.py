"""The task endpoints under `/api/{user_id}/tasks`.

`OwnerRoute` settles 401/403 before anything else happens. Responses are encoded once with
orjson straight from the selected columns; `response_model` and `responses` are there for the
OpenAPI document, which lists every status a route can answer.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Header, Path, Query, Response, status

from todo_shared.db import Database
from todo_shared.errors import NotFound, PreconditionFailed, invalid, unissued_cursor
from todo_shared.openapi import errors
from todo_tasks import repository
from todo_tasks.dependencies import DatabaseDep, OwnerId, OwnerRoute, StateDep
from todo_tasks.models.idempotency import KEY_MAX_LENGTH
from todo_tasks.models.task import LABELS_MAX, PRIORITY_MAX
from todo_tasks.schemas.responses import (
    CONDITIONAL,
    CREATE_RESPONSES,
    DELETE_RESPONSES,
    LIST_RESPONSES,
    MOVE_RESPONSES,
    READ_RESPONSES,
    RESTORE_RESPONSES,
)
from todo_tasks.schemas.task import (
    Label,
    SearchText,
    TaskComplete,
    TaskCreate,
    TaskMove,
    TaskPatch,
    TaskPublic,
    TaskUpdate,
)
from todo_tasks.settings import Settings

PriorityFilter = Annotated[
    int | None,
    Query(ge=0, le=PRIORITY_MAX, description="Only tasks of this priority (0 none … 3 high)."),
]
LabelFilter = Annotated[
    list[Label] | None,
    Query(
        max_length=LABELS_MAX,
        description="Only tasks with this label, ignoring case; repeat it for tasks with all "
        "of them (`?label=home&label=urgent`).",
    ),
]
SortParameter = Annotated[
    repository.SortKey | None,
    Query(
        description="`created` (the default), `updated`, `priority` (ties: newer first, "
        "or older first with `order=asc`) or `position`: a list's order as set by moves "
        "(with `list_id` or `inbox=true`). Absent with `q`: best matches first."
    ),
]
SearchParameter = Annotated[
    SearchText | None,
    Query(
        description="Only tasks whose title or description holds every word of this text, "
        'each as a word or the start of one (`groc` finds "Groceries"), ignoring case '
        'and accents (`cafe` finds "Café"), in any language. Without `sort`, the best '
        "matches come first (a word in the title before one in the description). Nothing "
        "in it is query syntax: punctuation only separates words. Blank is no filter; "
        "text without a word (punctuation, emoji) matches nothing.",
    ),
]
OrderParameter = Annotated[
    Literal["asc", "desc"] | None,
    Query(
        description="`desc` (the default but for `position`: newest, latest or highest "
        "first) or `asc` (the default for `position`: first first)."
    ),
]
ListFilter = Annotated[
    int | None,
    Query(gt=0, le=repository.MAX_BIGINT, description="Only the tasks of this list."),
]
InboxFilter = Annotated[
    bool, Query(description="Only the tasks of no list (the Inbox); not with `list_id`.")
]
# Out of range ids are a 400 here rather than an overflow in the database driver.
TaskId = Annotated[int, Path(gt=0, le=repository.MAX_BIGINT)]
Cursor = Annotated[
    str | None,
    Query(
        max_length=160,
        description="Resume after the page that answered this `X-Next-Cursor` (keyset paging: "
        "each page costs the same however far into the list it is). Combine with the same "
        "`completed` and any `limit`, not with `offset`.",
    ),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=KEY_MAX_LENGTH,
        pattern="^[\\x20-\\x7E]+$",
        description="Makes the create safe to retry: a fresh value (a UUID, say) per task the "
        "user asked for, sent again unchanged with every retry of that request. Within 24 hours "
        "a retry with the same body answers the task the first one created (`Idempotent-"
        "Replayed: true`) instead of creating another; the same key with a different body is a "
        "409. Keys are the caller's own: another user's equal key is unrelated. 1-255 "
        "printable ASCII characters.",
    ),
]

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=1024,
        description="Write only if the task is still at this version: its `ETag` as last "
        'read (`"3"`), several separated by commas, or `*` (any version, the task must '
        "exist). Otherwise the answer is 412 with the current `ETag`, and nothing changes.",
    ),
]
IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        max_length=1024,
        description="The `ETag` the client holds: when the task is still at that version the "
        "answer is 304 with no body.",
    ),
]

router = APIRouter(
    prefix="/api/{user_id}/tasks",
    tags=["tasks"],
    route_class=OwnerRoute,
    responses=errors(401, 403, 503),
)


def json_response(
    content: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(content), status_code, headers, "application/json")


def etag(task: TaskPublic) -> str:
    """A strong validator: the task's version, quoted."""
    return f'"{task["version"]}"'


def _task(
    task: TaskPublic, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return json_response(task, status_code, {**(headers or {}), "ETag": etag(task)})


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def expected_versions(if_match: str | None) -> list[int] | None:
    """The versions `If-Match` accepts (None: any). A weak or malformed tag matches none
    (If-Match compares strongly), so such a write is a 412, never a blind overwrite."""
    if if_match is None or if_match.strip() == "*":
        return None
    versions = []
    for tag in _tags(if_match):
        if len(tag) > 2 and tag[0] == tag[-1] == '"' and tag[1:-1].isdigit():
            versions.append(int(tag[1:-1]))
    return versions or [0]


async def _written(
    db: Database, owner: str, task_id: int, task: TaskPublic | None, if_match: str | None
) -> Response:
    """The written task; or why nothing was written: absent (404), or not at a version
    `If-Match` names (412, with the current ETag). Absent and not owned look the same: the
    statements never see another user's rows."""
    if task is not None:
        return _task(task)
    if if_match is not None:
        current = await repository.get_task(db, owner, task_id)
        if current is not None:
            raise PreconditionFailed(
                "the task has changed since that version: read it again (its current "
                "ETag is in this answer)",
                headers={"ETag": etag(current)},
            )
    raise NotFound


def position(
    cursor: str | None, offset: int, sort: repository.Sort = repository.NEWEST_FIRST
) -> repository.Position | None:
    """The keyset position `cursor` names in `sort`'s order; a cursor the service did not
    write, or wrote for another order, is a 400."""
    if cursor is None:
        return None
    if offset:
        msg = "offset cannot be combined with cursor"
        raise invalid(("query", "offset"), msg, "cursor_with_offset")
    position = sort.decode(cursor)
    if position is None:
        raise unissued_cursor(("query", "cursor"))
    return position


def page_limit(settings: Settings, limit: int | None) -> int:
    """`limit` within the configured bounds (LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX)."""
    if limit is None:
        return int(settings.list_limit_default)
    if not 1 <= limit <= settings.list_limit_max:
        msg = f"Input should be between 1 and {settings.list_limit_max}"
        raise invalid(("query", "limit"), msg, "range")
    return limit


@router.get("", response_model=list[TaskPublic], responses=LIST_RESPONSES)
async def list_tasks(
    owner: OwnerId,
    state: StateDep,
    completed: bool | None = None,
    priority: PriorityFilter = None,
    label: LabelFilter = None,
    list_id: ListFilter = None,
    inbox: InboxFilter = False,
    limit: int | None = None,
    offset: Annotated[int, Query(ge=0, le=repository.MAX_BIGINT)] = 0,
    cursor: Cursor = None,
    sort: SortParameter = None,
    order: OrderParameter = None,
    q: SearchParameter = None,
) -> Response:
    """The caller's tasks, newest first unless `sort`/`order` say otherwise (best matches
    first for `q` without `sort`); `X-Total-Count` is the filtered total before paging.

    Filters combine (AND). Page with `limit`/`offset`, or with `cursor`, the `X-Next-Cursor`
    of the previous page (with the same filters and order).
    """
    if inbox and list_id is not None:
        raise invalid(("query", "inbox"), "give list_id or inbox=true, not both", "one_list")
    if sort == "position" and list_id is None and not inbox:
        msg = "a manual order is a list's: give list_id, or inbox=true for the Inbox"
        raise invalid(("query", "sort"), msg, "position_needs_list")
    words = q if q and not q.isspace() else None
    keep = repository.TaskFilter(
        completed, priority, tuple(label or ()), list_id=list_id, inbox=inbox, q=words
    )
    key: repository.Order = sort or ("rank" if words else "created")
    descending = order == "desc" if order is not None else key != "position"
    ordered = repository.Sort(key, descending)
    page, total, after = await repository.list_tasks(
        state.database,
        owner,
        keep=keep,
        limit=page_limit(state.settings, limit),
        offset=offset,
        after=position(cursor, offset, ordered),
        sort=ordered,
    )
    headers = {"X-Total-Count": str(total)}
    if after is not None:
        headers["X-Next-Cursor"] = ordered.encode_values(after)
    return json_response(page, headers=headers)


@router.post(
    "", response_model=TaskPublic, status_code=status.HTTP_201_CREATED, responses=CREATE_RESPONSES
)
async def create_task(
    owner: OwnerId, db: DatabaseDep, body: TaskCreate, key: IdempotencyKey = None
) -> Response:
    """Create a task; with an `Idempotency-Key`, at most one per key, however often it is sent."""
    headers = {}
    if key is None:
        task = await repository.create_task(db, owner, body)
    else:
        task, replayed = await repository.create_task_with_key(
            db, owner, key, body.fingerprint(), body
        )
        if replayed:
            headers["Idempotent-Replayed"] = "true"
    headers["Location"] = f"/api/{quote(owner, safe='')}/tasks/{task['id']}"
    return _task(task, status.HTTP_201_CREATED, headers)


@router.get("/{task_id}", response_model=TaskPublic, responses=READ_RESPONSES)
async def read_task(
    owner: OwnerId, db: DatabaseDep, task_id: TaskId, if_none_match: IfNoneMatch = None
) -> Response:
    """The task; with `If-None-Match` naming its current `ETag`, a 304 with no body."""
    task = await repository.get_task(db, owner, task_id)
    if task is None:
        raise NotFound
    tag = etag(task)
    if if_none_match is not None and (if_none_match.strip() == "*" or tag in _tags(if_none_match)):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": tag})
    return _task(task)


@router.put("/{task_id}", response_model=TaskPublic, responses=CONDITIONAL)
async def replace_task(
    owner: OwnerId, db: DatabaseDep, task_id: TaskId, body: TaskUpdate, if_match: IfMatch = None
) -> Response:
    expected = expected_versions(if_match)
    task = await repository.replace_task(db, owner, task_id, body, expected)
    return await _written(db, owner, task_id, task, if_match)


@router.patch("/{task_id}", response_model=TaskPublic, responses=CONDITIONAL)
async def update_task(
    owner: OwnerId, db: DatabaseDep, task_id: TaskId, body: TaskPatch, if_match: IfMatch = None
) -> Response:
    expected = expected_versions(if_match)
    task = await repository.update_task(db, owner, task_id, body, expected)
    return await _written(db, owner, task_id, task, if_match)


@router.patch("/{task_id}/complete", response_model=TaskPublic, responses=CONDITIONAL)
async def complete_task(
    owner: OwnerId,
    db: DatabaseDep,
    task_id: TaskId,
    body: TaskComplete | None = None,
    if_match: IfMatch = None,
) -> Response:
    """`{"completed": bool}` sets the flag; no body, or a body without it, toggles."""
    completed = None if body is None else body.completed
    expected = expected_versions(if_match)
    task = await repository.set_completed(db, owner, task_id, completed, expected)
    return await _written(db, owner, task_id, task, if_match)


@router.delete("/{task_id}", status_code=status.HTTP_204_NO_CONTENT, responses=DELETE_RESPONSES)
async def delete_task(
    owner: OwnerId, state: StateDep, task_id: TaskId, if_match: IfMatch = None
) -> Response:
    db = state.database
    retention = timedelta(days=state.settings.change_retention_days)
    if await repository.delete_task(
        db, owner, task_id, expected_versions(if_match), retention=retention
    ):
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return await _written(db, owner, task_id, None, if_match)


@router.post("/{task_id}/restore", response_model=TaskPublic, responses=RESTORE_RESPONSES)
async def restore_task(
    owner: OwnerId, db: DatabaseDep, task_id: TaskId, if_match: IfMatch = None
) -> Response:
    """Bring the task back from the trash (with `If-Match`, only from that version of it)."""
    task = await repository.restore_task(db, owner, task_id, expected_versions(if_match))
    if task is not None:
        return _task(task)
    version = await repository.trashed_version(db, owner, task_id)
    if version is None:
        raise NotFound("not in the trash")
    raise PreconditionFailed(
        "the trashed task is at another version: read the trash again",
        headers={"ETag": f'"{version}"'},
    )


@router.post("/{task_id}/move", response_model=TaskPublic, responses=MOVE_RESPONSES)
async def move_task(
    owner: OwnerId, db: DatabaseDep, task_id: TaskId, body: TaskMove, if_match: IfMatch = None
) -> Response:
    """Put the task just `before` or `after` another task of its list, or first (neither);
    with `list_id`, into that list (null: the Inbox). Only the moved task is written, but
    rarely: when its neighbours' keys leave no short one between them, a run of tasks around
    it gets new keys (and versions) too."""
    anchor = body.before if body.before is not None else body.after
    place = repository.Placement(anchor, before=body.before is not None)
    to_list = body.list_id if "list_id" in body.model_fields_set else repository.SAME_LIST
    expected = expected_versions(if_match)
    task = await repository.move_task(db, owner, task_id, place, to_list, expected)
    return await _written(db, owner, task_id, task, if_match)

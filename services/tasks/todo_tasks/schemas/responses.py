"""What the task routes answer, for the OpenAPI document: statuses, descriptions, headers.

Kept out of the route decorators so a handler reads as a handler; the routes name these.
"""

from __future__ import annotations

from typing import Any

from todo_shared.openapi import errors, header

# The statuses beyond the router's: 400 is any refused path, query or body value.
_NOT_OWNED = "No such task among the caller's."
_CHANGED = (
    "`If-Match` names another version than the task's: nothing changed. `ETag` is the "
    "current one; read the task, then decide."
)
# The headers these routes read from a browser and let it read (CORS).
REQUEST_HEADERS = ("Idempotency-Key", "If-Match", "If-None-Match", "Last-Event-ID")
RESPONSE_HEADERS = ("Location", "Idempotent-Replayed", "X-Total-Count", "X-Next-Cursor", "ETag")

_ETAG = {
    "ETag": header(
        'The task\'s version as a strong validator (`"3"`): send it back as `If-Match` to '
        "write only over this version, or as `If-None-Match` to read only if it changed.",
        {"type": "string"},
    )
}
_TASK = {"description": "The task.", "headers": _ETAG}

READ_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: _TASK,
    304: {"description": "`If-None-Match` names the current version: no body.", "headers": _ETAG},
    **errors(400, 404, s404=_NOT_OWNED),
}
CONDITIONAL: dict[int | str, dict[str, Any]] = {
    200: {"description": "The task as changed (its version one higher).", "headers": _ETAG},
    **errors(400, 404, 412, 413, s404=_NOT_OWNED, s412=_CHANGED),
}
CONDITIONAL[412]["headers"] = _ETAG
DELETE_RESPONSES: dict[int | str, dict[str, Any]] = {
    204: {
        "description": "Moved to the trash (`POST …/restore` brings it back): it is a 404 "
        "and out of lists and counts as a deleted task always was; the change feed holds its "
        "tombstone."
    },
    **errors(400, 404, 412, s404=_NOT_OWNED, s412=_CHANGED),
}
DELETE_RESPONSES[412]["headers"] = _ETAG

LIST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A page of the caller's tasks, newest first.",
        "headers": {
            "X-Total-Count": header(
                "Tasks matching the filter, before paging (exact, and read without "
                "counting the tasks).",
                {"type": "integer", "minimum": 0},
            ),
            "X-Next-Cursor": header(
                "Present when more tasks follow this page: pass it as `cursor` (with the "
                "same `completed`) for the next one.",
                {"type": "string"},
                required=False,
            ),
        },
    },
    **errors(400),
}
CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "The new task; with `Idempotent-Replayed`, the task an earlier "
        "request with this `Idempotency-Key` created, as it is now.",
        "headers": {
            "Location": header("The new task's path.", {"type": "string"}),
            **_ETAG,
            "Idempotent-Replayed": header(
                "`true` when this answers a retry: nothing was created.",
                {"type": "string", "enum": ["true"]},
                required=False,
            ),
        },
    },
    **errors(
        400,
        409,
        413,
        s409="The `Idempotency-Key` was used with a different body, or the task it "
        "created has been deleted since: nothing was created.",
    ),
}

MOVE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The task in its new place (its `position`, and `list_id`).",
        "headers": _ETAG,
    },
    **errors(
        400,
        404,
        412,
        413,
        s400="A value out of range, both `before` and `after`, an anchor that is not "
        "another task of the list the task ends in, or a `list_id` that is not one of the "
        "caller's lists.",
        s404=_NOT_OWNED,
        s412=_CHANGED,
    ),
}
MOVE_RESPONSES[412]["headers"] = _ETAG

_NOT_TRASHED = "The caller's trash holds no such task."
RESTORE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The task back from the trash, in its place and with its fields, one "
        "version on from the delete.",
        "headers": _ETAG,
    },
    **errors(400, 404, 412, s404=_NOT_TRASHED, s412=_CHANGED),
}
RESTORE_RESPONSES[412]["headers"] = _ETAG
TRASH_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A page of the caller's trash, latest first, each task as it was.",
        "headers": {
            "X-Total-Count": header("Tasks in the trash.", {"type": "integer", "minimum": 0}),
            "X-Next-Cursor": header(
                "Present when more follow: pass it as `cursor` for the next page.",
                {"type": "string"},
                required=False,
            ),
        },
    },
    **errors(400),
}
DISCARD_RESPONSES: dict[int | str, dict[str, Any]] = {
    204: {"description": "Deleted for good."},
    **errors(400, 404, s404=_NOT_TRASHED),
}
EMPTY_RESPONSES: dict[int | str, dict[str, Any]] = {
    204: {"description": "The trash is empty: its tasks are deleted for good."},
    **errors(400),
}

CHANGES_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The next changes, oldest first, and where to resume."},
    **errors(
        400,
        410,
        s400="A value out of range, or a `since` this service did not issue.",
        s410="`since` is older than CHANGE_RETENTION_DAYS: deletes before it may be "
        "forgotten. Read the feed again from the start (without `since`) and replace what "
        "the client holds.",
    ),
}

EVENTS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "`text/event-stream`: each change as `id: <cursor>`, `event: change`, "
        "`data: <the change's JSON, as in /changes>`; a `: keep-alive` comment at least every "
        "EVENT_HEARTBEAT_SECONDS. Without `Last-Event-ID` it opens with an `id:` and no data "
        "(where it starts: no event, but the reader's last event id is set). It ends when the "
        "token expires: reconnect with a fresh one "
        "and `Last-Event-ID`. Browsers read it with `fetch` (the token goes in the "
        "`Authorization` header, never in the URL), not `EventSource`.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    **errors(
        400,
        410,
        429,
        s400="`Last-Event-ID` is not an id this service issued.",
        s410="`Last-Event-ID` is older than the change feed keeps: reload, then reconnect "
        "without it.",
        s429="The user holds EVENT_STREAMS_PER_USER streams already.",
    ),
}

_NO_LIST = "No such list among the caller's."
_LIST_CHANGED = (
    "`If-Match` names another version than the list's: nothing changed. `ETag` is the current one."
)
_LIST_ETAG = {
    "ETag": header(
        'The list\'s version as a strong validator (`"3"`), for `If-Match`.', {"type": "string"}
    )
}
LISTS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "All of the caller's lists, in their order (at most LISTS_PER_USER).",
        "headers": {"X-Total-Count": header("How many lists.", {"type": "integer", "minimum": 0})},
    },
}
LIST_CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "The new list, after the caller's others.",
        "headers": {"Location": header("The new list's path.", {"type": "string"}), **_LIST_ETAG},
    },
    **errors(
        400,
        409,
        413,
        s409="The caller has a list of that name already (ignoring case), or "
        "LISTS_PER_USER lists: nothing was created.",
    ),
}
LIST_READ_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The list.", "headers": _LIST_ETAG},
    **errors(400, 404, s404=_NO_LIST),
}
LIST_WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The list as changed (its version one higher).", "headers": _LIST_ETAG},
    **errors(
        400,
        404,
        409,
        412,
        413,
        s404=_NO_LIST,
        s409="The caller has another list of that name (ignoring case).",
        s412=_LIST_CHANGED,
    ),
}
LIST_WRITE_RESPONSES[412]["headers"] = _LIST_ETAG
LIST_MOVE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The list in its new place (its `position`).", "headers": _LIST_ETAG},
    **errors(400, 404, 412, 413, s404=_NO_LIST, s412=_LIST_CHANGED),
}
LIST_MOVE_RESPONSES[412]["headers"] = _LIST_ETAG
LIST_DELETE_RESPONSES: dict[int | str, dict[str, Any]] = {
    204: {
        "description": "Deleted; with `with_tasks=true` its tasks are in the trash (a restore "
        "puts them in the Inbox). The change feed holds the list's tombstone."
    },
    **errors(
        400,
        404,
        409,
        412,
        s404=_NO_LIST,
        s409="The list still holds tasks: move them, or delete with `with_tasks=true`.",
        s412=_LIST_CHANGED,
    ),
}
LIST_DELETE_RESPONSES[412]["headers"] = _LIST_ETAG

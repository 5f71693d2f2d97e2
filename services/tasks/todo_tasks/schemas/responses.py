"""What the task routes answer, for the OpenAPI document: statuses, descriptions, headers.

Kept out of the route decorators so a handler reads as a handler; the routes name these.
"""

from __future__ import annotations

from typing import Any

from todo_shared.openapi import errors, header

# The statuses beyond the router's: 400 is any refused path, query or body value.
_NOT_OWNED = "No such task among the caller's."
WITH_BODY = errors(400, 404, 413, s404=_NOT_OWNED)
BY_ID = errors(400, 404, s404=_NOT_OWNED)
# The headers these routes read from a browser and let it read (CORS).
REQUEST_HEADERS = ("Idempotency-Key",)
RESPONSE_HEADERS = ("Location", "Idempotent-Replayed", "X-Total-Count", "X-Next-Cursor")

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

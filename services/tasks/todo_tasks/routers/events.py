"""Live updates: `GET /api/{user_id}/events`, the change feed as a server-sent event stream.

Each event is one change of the feed (`id:` the cursor after it, `event: change`, `data:` the
change's JSON), so a client that reconnects with `Last-Event-ID` resumes exactly there. A
stream sleeps until PostgreSQL notifies a commit of its user's tasks (migration 0004; from any
replica), then reads the feed from where it was: the notification only wakes it, the feed
decides what it sends, so nothing is skipped or sent twice. It ends when its token expires
(the client reconnects with a fresh one, resuming by `Last-Event-ID`), and when the token's
session ends (a sign-out wakes it: see `todo_shared.revocation`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse

from todo_shared.errors import AppError, TooManyRequests
from todo_shared.openapi import errors
from todo_shared.security import CurrentUser
from todo_tasks import metrics
from todo_tasks.dependencies import OwnerId, OwnerRoute, StateDep
from todo_tasks.repository import FeedPosition, feed_end
from todo_tasks.routers.changes import CHANGES_LIMIT_DEFAULT, read_changes
from todo_tasks.schemas.changes import Change
from todo_tasks.schemas.responses import EVENTS_RESPONSES
from todo_tasks.state import TasksState

LastEventId = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        max_length=64,
        description="The `id` of the last event received: the stream first replays every "
        "change after it. Without it the stream starts at the feed's end (load the list or "
        "read `/changes` first).",
    ),
]

# A read of the feed from a stream: a page at a time, a refused cursor named as the header.
_BACKLOG = (CHANGES_LIMIT_DEFAULT, ("header", "Last-Event-ID"))

router = APIRouter(
    prefix="/api/{user_id}",
    tags=["changes"],
    route_class=OwnerRoute,
    responses=errors(401, 403, 503),
)


def _event(seq: int, change: Change) -> bytes:
    cursor = FeedPosition(seq, FeedPosition.now()).encode()
    return b"id: %s\nevent: change\ndata: %s\n\n" % (cursor.encode(), orjson.dumps(change))


async def _stream(
    state: TasksState,
    owner: str,
    position: FeedPosition,
    pending: list[tuple[int, Change]],
    more: bool,
    expires_at: float,
    claims: dict[str, Any],
    slot: str,
    opening: bytes,
) -> AsyncIterator[bytes]:
    heartbeat = state.settings.event_heartbeat_seconds
    live = False  # whether `pending` came after waiting (else: the replay of a backlog)
    metrics.EVENT_STREAMS_OPEN.inc()
    try:
        async with (
            state.notifications.subscribe(owner) as woken,
            state.verifier.watch_session(claims, woken),
        ):
            yield opening
            while True:
                for seq, change in pending:
                    metrics.sent(change, live=live)
                    yield _event(seq, change)
                if not more:
                    left = expires_at - time.time()
                    if left <= 0:
                        return  # the token expired: the client reconnects with a fresh one
                    wait = min(heartbeat, left, state.notifications.wait_seconds or heartbeat)
                    try:
                        await asyncio.wait_for(woken.wait(), wait)
                    except TimeoutError:
                        yield b": keep-alive\n\n"
                        await state.stream_slots.renew(owner, slot)
                    live = True
                woken.clear()
                if await state.verifier.session_ended(claims):
                    return  # signed out: a reconnect is refused too
                pending, position, more = await read_changes(
                    state, owner, position.encode(), *_BACKLOG
                )
    except AppError:
        return  # the database went away mid-stream: the client reconnects and resumes
    finally:
        metrics.EVENT_STREAMS_OPEN.dec()
        # A client that goes away cancels this generator; shielded, the release still runs
        # (otherwise the slot would count against the user until it lapses).
        await asyncio.shield(state.stream_slots.release(owner, slot))


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses=EVENTS_RESPONSES,
)
async def stream_events(
    owner: OwnerId, caller: CurrentUser, state: StateDep, last_event_id: LastEventId = None
) -> StreamingResponse:
    """Every change to the caller's tasks as it commits, on any replica, as
    `text/event-stream`; a comment line at least every EVENT_HEARTBEAT_SECONDS."""
    pending: list[tuple[int, Change]] = []
    more = False
    # Tells readers how soon to reconnect. A stream that starts at the feed's end also gives
    # its position as an `id` with no data (no event is dispatched, but the reader's last
    # event id is set), so a reconnect before the first change still resumes where it was.
    opening = b"retry: 1000\n\n"
    if last_event_id is None:
        position = await feed_end(state.database, owner)
        opening = b"id: %s\n%s" % (position.encode().encode(), opening)
    else:
        # What was missed, checked before the stream starts (a bad id is still a 400).
        pending, position, more = await read_changes(state, owner, last_event_id, *_BACKLOG)
    slot = await state.stream_slots.claim(owner)
    if slot is None:
        metrics.EVENT_STREAMS_REFUSED.inc()
        raise TooManyRequests(retry_after=30)
    expires_at = float(caller.claims.get("exp", time.time()))
    return StreamingResponse(
        _stream(state, owner, position, pending, more, expires_at, caller.claims, slot, opening),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )

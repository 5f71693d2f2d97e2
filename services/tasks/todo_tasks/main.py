"""The tasks service's ASGI app, built by `app_from_environment` in each worker of `todo-tasks
serve` (or `uvicorn --factory todo_tasks.main:app_from_environment`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import Redis

from todo_shared.app import create_app, service_state
from todo_shared.db import connector, open_database
from todo_shared.notify import Notifications
from todo_shared.openapi import query_parameter
from todo_shared.tokens import keys_check, verifier_lifespan
from todo_tasks.purge import purge_periodically
from todo_tasks.routers import changes, events, lists, tasks, trash
from todo_tasks.schemas import responses
from todo_tasks.settings import Settings
from todo_tasks.state import TasksState
from todo_tasks.streams import StreamSlots


async def database_check(app: FastAPI) -> str | None:
    """Readiness through the pool the requests use."""
    await service_state(app, TasksState).database.fetchval("SELECT 1")
    return None


def create_tasks_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(redis: Redis) -> AsyncIterator[TasksState]:
        """The token verifier (keys loaded before the first request), the connection pool,
        the listener for the live streams and the trash's purge."""
        async with verifier_lifespan(settings, redis) as verifier, open_database(settings) as db:
            notifications = Notifications(connector(settings), "task_changes")
            notifications.start()
            purging = asyncio.create_task(purge_periodically(db, settings))
            try:
                yield TasksState(
                    settings=settings,
                    redis=redis,
                    verifier=verifier,
                    database=db,
                    notifications=notifications,
                    stream_slots=StreamSlots(
                        redis,
                        per_user=settings.event_streams_per_user,
                        lapse_seconds=4 * settings.event_heartbeat_seconds,
                    ),
                )
            finally:
                purging.cancel()
                await notifications.close()

    return create_app(
        settings,
        title="Todo tasks",
        service_name="todo-tasks",
        description=(
            "Each user's tasks. Every operation needs a bearer access token (from `POST "
            "/api/auth/login`, or the front end's Better Auth) whose `sub` is the path's "
            '`user_id`. Errors are `{"detail": ...}`: 400 lists the field errors.'
        ),
        routers=[tasks.router, lists.router, trash.router, changes.router, events.router],
        openapi_url="/api/openapi.json",
        # LIST_LIMIT_* are settings, so the document states this deployment's bounds.
        openapi_patches=[
            query_parameter(
                "listTasks",
                "limit",
                {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": settings.list_limit_max,
                    "default": settings.list_limit_default,
                },
            )
        ],
        docs=(
            "/api/docs",
            {"Tasks API": "/api/openapi.json", "Auth API": "/api/auth/openapi.json"},
        ),
        service_lifespan=lifespan,
        readiness_checks={"database": database_check, "keys": keys_check},
        cors_request_headers=responses.REQUEST_HEADERS,
        cors_response_headers=responses.RESPONSE_HEADERS,
    )


def app_from_environment() -> FastAPI:
    """The app with the settings of the environment, read when a worker starts (importing this
    module reads nothing)."""
    return create_tasks_app(Settings())

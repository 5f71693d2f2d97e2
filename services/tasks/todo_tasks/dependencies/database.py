"""The database a request works in (see `todo_tasks.database` for why it is not a Session)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from todo_tasks.database import Database


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


DatabaseDep = Annotated[Database, Depends(get_database)]

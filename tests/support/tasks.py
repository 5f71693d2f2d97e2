"""Tasks straight into the tasks service's table, for the tests of its list."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def add_tasks(
    engine: AsyncEngine, owner: str, count: int, *, same_time: bool = False
) -> None:
    """`task 1` (newest) .. `task {count}`, even ones completed: faster than the API, and able
    to share a `created_at`."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO tasks (user_id, title, completed, created_at, updated_at) "
                "SELECT :owner, 'task ' || n, n % 2 = 0, "
                "CASE WHEN :same_time THEN now() ELSE now() - make_interval(secs => n) END, "
                "now() "
                "FROM generate_series(1, :count) AS n"
            ),
            {"owner": owner, "count": count, "same_time": same_time},
        )

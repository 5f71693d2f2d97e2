"""The tests' own way into a service's database, beside the service's pool: SQLAlchemy, to
seed rows and read back what a request did."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from todo_shared.db import asyncpg_url
from todo_shared.settings import ServiceSettings


def engine_for(settings: ServiceSettings) -> AsyncEngine:
    url, connect_args = asyncpg_url(settings.database_url)
    return create_async_engine(url, connect_args=connect_args)

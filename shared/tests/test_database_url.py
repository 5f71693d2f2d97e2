"""docs/deploy.md's "Neon in production": libpq URLs with `sslmode` and `-pooler` work."""

from __future__ import annotations

import ssl

import pytest

from todo_shared.db import asyncpg_connect_args, asyncpg_url
from todo_shared.settings import ServiceSettings

NEON_POOLED = (
    "postgresql://user:pw@ep-x-pooler.eu-central-1.aws.neon.tech/tasks"
    "?sslmode=require&channel_binding=require"
)
NEON_DIRECT = "postgresql://user:pw@ep-x.eu-central-1.aws.neon.tech/tasks?sslmode=require"


def test_neon_url_becomes_an_asyncpg_url_with_ssl_required() -> None:
    url, connect_args = asyncpg_url(NEON_POOLED)
    # libpq-only options would be refused by asyncpg as server settings.
    assert url == "postgresql+asyncpg://user:pw@ep-x-pooler.eu-central-1.aws.neon.tech/tasks"
    assert connect_args == {"ssl": "require"}


def test_verify_full_checks_the_certificate_and_the_host() -> None:
    _, connect_args = asyncpg_url("postgresql://u:p@db.example/app?sslmode=verify-full")
    context = connect_args["ssl"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_a_plain_url_keeps_its_other_parameters_and_no_ssl() -> None:
    url, connect_args = asyncpg_url("postgresql://u:p@localhost:5432/app?application_name=x")
    assert url == "postgresql+asyncpg://u:p@localhost:5432/app?application_name=x"
    assert connect_args == {}


@pytest.mark.parametrize(
    ("database_url", "cache_size"),
    [pytest.param(NEON_POOLED, 0, id="pooled"), pytest.param(NEON_DIRECT, 100, id="direct")],
)
def test_the_pooled_endpoint_turns_off_the_prepared_statement_cache(
    database_url: str, cache_size: int
) -> None:
    settings = ServiceSettings(_env_file=None, database_url=database_url)
    url, connect_args = asyncpg_connect_args(settings)
    assert url.startswith("postgresql+asyncpg://")
    assert connect_args["statement_cache_size"] == cache_size
    assert connect_args["ssl"] == "require"
    assert connect_args["timeout"] == settings.db_connect_timeout_seconds
    assert connect_args["command_timeout"] == settings.db_statement_timeout_seconds

"""Settings every service has; each service subclasses `ServiceSettings` once."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AnyUrl, BeforeValidator, Field, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Secrets shipped in docker-compose.yml and .env.example for local use start with this marker;
# a production deployment refuses to start with any of them.
PLACEHOLDER_MARKERS = ("insecure-", "changethis")


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


# A list given in the environment as `a,b,c` rather than as JSON.
CommaSeparated = Annotated[list[str], NoDecode, BeforeValidator(_split_commas)]


def is_placeholder(secret: str) -> bool:
    lowered = secret.lower()
    return any(marker in lowered for marker in PLACEHOLDER_MARKERS)


class ServiceSettings(BaseSettings):
    """Environment (or `.env`) configuration shared by both services."""

    # hide_input_in_errors: a refused setting must not print the secrets around it.
    model_config = SettingsConfigDict(
        env_file=".env", env_ignore_empty=True, extra="ignore", hide_input_in_errors=True
    )

    environment: Literal["development", "test", "production"] = Field(
        default="development",
        description="`production` refuses placeholder secrets (values containing `insecure-`).",
    )
    database_url: str = Field(
        default="postgresql://todo:insecure-local-password@localhost:5432/todo",
        description="This service's own PostgreSQL database (libpq URL; `sslmode` understood).",
    )
    db_pool_size: int = Field(default=10, ge=1, description="Connections kept per worker.")
    db_max_overflow: int = Field(
        default=10, ge=0, description="Extra connections a worker may open under load."
    )
    db_connect_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Connecting (or waiting for a pooled connection) gives up."
    )
    db_statement_timeout_seconds: float = Field(
        default=10.0, gt=0, description="A statement running longer is cancelled."
    )
    redis_url: str = Field(
        default="redis://localhost:6379/0",
        description="Shared JWKS cache and rate-limit counters.",
    )
    redis_timeout_seconds: float = Field(
        default=0.5, gt=0, description="Redis is an accelerator: give up on it quickly."
    )
    cors_origins: CommaSeparated = Field(
        default_factory=lambda: ["http://localhost:3000"],
        description="Browser origins allowed to call the API (comma-separated).",
    )
    trusted_proxies: CommaSeparated = Field(
        default_factory=lambda: ["127.0.0.1/32", "::1/128"],
        description="Networks whose `X-Forwarded-For` is believed (the reverse proxy's).",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1, description="Larger request bodies are refused with 413."
    )
    log_level: str = Field(default="INFO", description="Python log level of the JSON logs.")
    retry_after_seconds: int = Field(
        default=5, ge=1, description="`Retry-After` sent with 503 while the database is down."
    )

    def secrets_to_check(self) -> dict[str, str]:
        """Secrets that must not be placeholders in production; services add their own."""
        password = AnyUrl(self.database_url).password or ""
        return {"DATABASE_URL password": password}

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> ServiceSettings:
        if self.environment != "production":
            return self
        secrets = self.secrets_to_check()
        bad = sorted(name for name, value in secrets.items() if is_placeholder(value))
        if bad:
            raise ValueError(f"placeholder secrets are not allowed in production: {', '.join(bad)}")
        return self

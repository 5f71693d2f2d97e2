"""Settings every service has; each service subclasses `ServiceSettings` once."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AnyUrl, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Secrets shipped in docker-compose.yml and .env.example for local use start with this marker;
# a production deployment refuses to start with any of them.
PLACEHOLDER_MARKERS = ("insecure-", "changethis")

CommaSeparated = Annotated[list[str], NoDecode]


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def is_placeholder(secret: str) -> bool:
    lowered = secret.lower()
    return any(marker in lowered for marker in PLACEHOLDER_MARKERS)


class ServiceSettings(BaseSettings):
    """Environment (or `.env`) configuration shared by both services."""

    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "postgresql://todo:insecure-local-password@localhost:5432/todo"
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    db_statement_timeout_seconds: float = Field(default=10.0, gt=0)
    redis_url: str = "redis://localhost:6379/0"
    redis_timeout_seconds: float = Field(default=0.5, gt=0)
    cors_origins: CommaSeparated = Field(default_factory=lambda: ["http://localhost:3000"])
    trusted_proxies: CommaSeparated = Field(
        default_factory=lambda: ["127.0.0.1/32", "::1/128"],
        description="Networks whose X-Forwarded-For is believed (the reverse proxy's).",
    )
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    log_level: str = "INFO"
    retry_after_seconds: int = Field(default=5, ge=1)

    _split = field_validator("cors_origins", "trusted_proxies", mode="before")(_split_commas)

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

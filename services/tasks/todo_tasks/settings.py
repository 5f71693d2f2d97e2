"""Configuration of the tasks service, read from the environment."""

from __future__ import annotations

from pydantic import Field, model_validator

from todo_shared.settings import VerifierSettings


class Settings(VerifierSettings):
    """The shared service and token-verifier settings, plus the list's paging bounds and the
    change feed's retention."""

    list_limit_default: int = Field(
        default=100, ge=1, description="Page size of a task list without `?limit=`."
    )
    list_limit_max: int = Field(default=500, ge=1, description="Largest `?limit=` accepted.")
    change_retention_days: int = Field(
        default=30,
        ge=1,
        description="How long the change feed remembers a delete (its tombstone); a feed "
        "cursor older than this is a 410: start again without one.",
    )

    lists_per_user: int = Field(
        default=1000, ge=1, description="Lists one user may have; one more is a 409."
    )

    trash_retention_days: int = Field(
        default=30,
        ge=1,
        description="How long a deleted task stays in the trash, restorable, before it is "
        "purged for good.",
    )
    trash_purge_interval_seconds: float = Field(
        default=3600,
        gt=0,
        description="How often each replica tries the trash's purge (jittered ±50%); one "
        "replica at a time does it.",
    )
    trash_purge_batch: int = Field(
        default=1000,
        ge=1,
        description="Trashed tasks deleted per purge transaction.",
    )

    event_streams_per_user: int = Field(
        default=10,
        ge=1,
        description="Live event streams (`GET /api/{user_id}/events`) one user may hold open "
        "at once, across every replica; one more is a 429.",
    )
    event_heartbeat_seconds: float = Field(
        default=15.0,
        gt=0,
        le=60,
        description="Seconds between the comment lines that keep an idle event stream open "
        "through proxies.",
    )

    @model_validator(mode="after")
    def _default_within_max(self) -> Settings:
        if self.list_limit_default > self.list_limit_max:
            raise ValueError("LIST_LIMIT_DEFAULT must not exceed LIST_LIMIT_MAX")
        return self

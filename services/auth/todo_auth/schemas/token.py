"""The login and refresh responses, shaped like an OAuth 2 token response, and the sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr

from todo_auth.schemas.user import NewPassword


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105  # the scheme, not a secret
    expires_in: int
    refresh_token: str = Field(
        description="Opaque; `POST /api/auth/refresh` trades it for the next tokens, once."
    )
    refresh_expires_in: int


class RefreshRequest(BaseModel):
    # A token is 43 characters; anything far longer is refused unread.
    refresh_token: Annotated[SecretStr, Field(min_length=1, max_length=256)]


class SessionPublic(BaseModel):
    id: str = Field(description="The `sid` of the session's access tokens.")
    created_at: datetime
    last_used_at: datetime = Field(description="The login or the latest refresh.")
    user_agent: str | None
    current: bool = Field(description="Whether the token of this request belongs to it.")


class PasswordChange(BaseModel):
    current_password: Annotated[SecretStr, Field(min_length=1, max_length=1024)]
    new_password: NewPassword

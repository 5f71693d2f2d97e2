"""Signup and login bodies, and the user as clients see it (never with its hash)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, EmailStr, Field, SecretStr

from todo_auth.utils.security import MAX_PASSWORD_BYTES, hashable


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _bcrypt_safe(password: SecretStr) -> SecretStr:
    if not hashable(password.get_secret_value()):
        raise ValueError(
            f"password must be valid UTF-8 of at most {MAX_PASSWORD_BYTES} bytes, with no NUL"
        )
    return password


# Validated without a DNS lookup (pydantic calls email-validator offline), then lowercased
# whole: the stored form, and what uniqueness and login compare.
NormalizedEmail = Annotated[EmailStr, BeforeValidator(_strip), AfterValidator(str.lower)]
# SecretStr keeps the password out of reprs, and so out of any log line or traceback.
NewPassword = Annotated[SecretStr, Field(min_length=8), AfterValidator(_bcrypt_safe)]


class UserCreate(BaseModel):
    email: NormalizedEmail
    password: NewPassword


class LoginRequest(BaseModel):
    email: NormalizedEmail
    # Not held to the signup rules: a login only ever matches or not (401, never 400).
    password: Annotated[SecretStr, Field(min_length=1, max_length=1024)]


class UserPublic(BaseModel):
    id: uuid.UUID
    email: str
    created_at: datetime

"""Signup and login bodies, and the user as clients see it (never with its hash)."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime
from typing import Annotated

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    SecretStr,
)

from todo_auth.passwords import MAX_PASSWORD_BYTES, hashable

# RFC 5321's limits, in octets of the UTF-8 form (RFC 6531 keeps them for UTF-8 addresses).
MAX_LOCAL_PART_BYTES = 64
MAX_DOMAIN_BYTES = 255
MAX_EMAIL_BYTES = 254


def canonical_email(email: str) -> str:
    """The one form of an email that signup stores and login and the rate limits compare.

    NFKC folds compatibility forms (fullwidth letters, the Kelvin sign, ligatures) into plain
    letters, case folding then makes case irrelevant (`ß` and `ss` too), and a last NFKC and
    lower() keep the result normalised and lower case (as the table's check requires).
    """
    folded = unicodedata.normalize("NFKC", email).strip().casefold()
    return unicodedata.normalize("NFKC", folded).lower()


def _canonical(value: object) -> object:
    return canonical_email(value) if isinstance(value, str) else value


def _within_rfc5321(email: str) -> str:
    local, _, domain = email.rpartition("@")
    if len(local.encode()) > MAX_LOCAL_PART_BYTES:
        raise ValueError(f"the part before @ must be at most {MAX_LOCAL_PART_BYTES} bytes")
    if len(domain.encode()) > MAX_DOMAIN_BYTES:
        raise ValueError(f"the domain must be at most {MAX_DOMAIN_BYTES} bytes")
    if len(email.encode()) > MAX_EMAIL_BYTES:
        raise ValueError(f"an email address must be at most {MAX_EMAIL_BYTES} bytes")
    return email


def _bcrypt_safe(password: SecretStr) -> SecretStr:
    if not hashable(password.get_secret_value()):
        raise ValueError(
            f"password must be valid UTF-8 of at most {MAX_PASSWORD_BYTES} bytes, with no NUL"
        )
    return password


def _any_case(word: str) -> str:
    return "".join(f"[{char}{char.upper()}]" for char in word)


# What the OpenAPI schema adds to `format: email`, so that it refuses what the validators do:
# the length limit (in characters there; bytes here, the same for ASCII) and email-validator's
# special-use domains (RFC 6761: `.test`, `.local`, ...). Documentation only.
EMAIL_SCHEMA = {
    "maxLength": MAX_EMAIL_BYTES,
    "pattern": f"^(?!.*\\.(?:{'|'.join(map(_any_case, SPECIAL_USE_DOMAIN_NAMES))})\\.?$)",
}

# Put in canonical form, then validated without a DNS lookup (pydantic calls email-validator
# offline, which keeps the canonical form): the stored form, and what uniqueness, login and
# the rate limits compare.
NormalizedEmail = Annotated[
    EmailStr,
    BeforeValidator(_canonical),
    AfterValidator(_within_rfc5321),
    Field(json_schema_extra=EMAIL_SCHEMA),
]
# SecretStr keeps the password out of reprs, and so out of any log line or traceback.
NewPassword = Annotated[
    SecretStr,
    Field(
        min_length=8,
        description=f"8 characters to {MAX_PASSWORD_BYTES} bytes of UTF-8 (bcrypt's limit; "
        "never truncated), no NUL.",
        # JSON Schema counts characters, not bytes: exact for ASCII. Documentation only.
        json_schema_extra={"maxLength": MAX_PASSWORD_BYTES, "pattern": "^[^\\u0000]*$"},
    ),
    AfterValidator(_bcrypt_safe),
]


class UserCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"email": "ada@example.com", "password": "correct horse battery"}]
        }
    )

    email: NormalizedEmail
    password: NewPassword


class LoginRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"email": "ada@example.com", "password": "correct horse battery"}]
        }
    )

    email: NormalizedEmail
    # Not held to the signup rules: a login only ever matches or not (401, never 400).
    password: Annotated[SecretStr, Field(min_length=1, max_length=1024)]


class UserPublic(BaseModel):
    id: uuid.UUID
    email: str
    created_at: datetime

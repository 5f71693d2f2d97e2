"""The auth service's tables (imported here so Alembic sees all of them)."""

from todo_auth.models.session import RefreshToken, Session
from todo_auth.models.signing_key import SigningKey
from todo_auth.models.user import User

__all__ = ["RefreshToken", "Session", "SigningKey", "User"]

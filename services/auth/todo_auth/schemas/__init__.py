"""Request and response bodies."""

from todo_auth.schemas.token import Token
from todo_auth.schemas.user import LoginRequest, UserCreate, UserPublic

__all__ = ["LoginRequest", "Token", "UserCreate", "UserPublic"]

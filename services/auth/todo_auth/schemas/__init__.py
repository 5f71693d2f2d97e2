"""Request and response bodies."""

from todo_auth.schemas.jwks import Jwk, Jwks
from todo_auth.schemas.token import PasswordChange, RefreshRequest, SessionPublic, Token
from todo_auth.schemas.user import LoginRequest, UserCreate, UserPublic

__all__ = [
    "Jwk",
    "Jwks",
    "LoginRequest",
    "PasswordChange",
    "RefreshRequest",
    "SessionPublic",
    "Token",
    "UserCreate",
    "UserPublic",
]

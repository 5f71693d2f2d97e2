"""What the auth routes need from the app: settings, hasher, keys, limiter, client address."""

from typing import Annotated

from fastapi import Depends, Request

from todo_auth.keys import KeyStore
from todo_auth.rate_limit import RateLimiter
from todo_auth.settings import Settings
from todo_auth.utils.security import PasswordHasher


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_hasher(request: Request) -> PasswordHasher:
    hasher: PasswordHasher = request.app.state.hasher
    return hasher


def get_keys(request: Request) -> KeyStore:
    keys: KeyStore = request.app.state.keys
    return keys


def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


def get_client_ip(request: Request) -> str:
    """Set by the shared middleware, which believes X-Forwarded-For only from trusted proxies."""
    client_ip: str = request.state.client_ip
    return client_ip


SettingsDep = Annotated[Settings, Depends(get_settings)]
HasherDep = Annotated[PasswordHasher, Depends(get_hasher)]
KeysDep = Annotated[KeyStore, Depends(get_keys)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]
ClientIP = Annotated[str, Depends(get_client_ip)]

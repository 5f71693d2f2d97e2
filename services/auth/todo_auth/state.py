"""What the running auth service holds: made at start-up (`main.py`), read by the routes."""

from __future__ import annotations

from dataclasses import dataclass

from todo_auth.keys import KeyStore
from todo_auth.passwords import PasswordHasher
from todo_auth.rate_limit import RateLimiter
from todo_auth.settings import Settings
from todo_shared.app import ServiceState
from todo_shared.db import Database


@dataclass(frozen=True, kw_only=True)
class AuthState(ServiceState):
    settings: Settings
    database: Database
    hasher: PasswordHasher
    keys: KeyStore
    limiter: RateLimiter

"""The auth service's settings: token claims, key storage, bcrypt and rate-limit knobs."""

from __future__ import annotations

import os

from pydantic import Field

from todo_shared.settings import ServiceSettings


def _usable_cores() -> int:
    """Cores this process may run on (a container's cpuset, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class Settings(ServiceSettings):
    """Read from the environment (or `.env`); every limit here is overridable."""

    access_token_ttl_seconds: int = Field(
        default=900,
        ge=60,
        le=86_400,
        description="Lifetime of an access token (at most the tasks service's "
        "`JWT_MAX_LIFETIME_SECONDS`, which refuses longer-lived tokens).",
    )
    refresh_token_ttl_seconds: int = Field(
        default=30 * 86_400,
        ge=300,
        le=365 * 86_400,
        description="Lifetime of a refresh token; each refresh issues a new one for as long, "
        "and a session unused for this long is over.",
    )

    key_encryption_secret: str = Field(
        default="insecure-local-key-encryption-secret",
        min_length=16,
        description="Encrypts the private signing keys stored in the database.",
    )
    jwks_max_age_seconds: int = Field(
        default=300, ge=0, le=86_400, description="`Cache-Control: max-age` of the published JWKS."
    )
    key_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=60,
        description="How long a replica trusts its in-memory copy of the keys; bounds how "
        "soon every replica signs with a rotated key.",
    )

    key_activation_delay_seconds: int = Field(
        default=360,
        ge=0,
        le=86_400,
        description="A rotated key is published this long before it signs: at least the "
        "verifiers' JWKS cache time (JWKS_MAX_AGE_SECONDS, JWKS_CACHE_TTL_SECONDS), so they "
        "know it before they meet it. `rotate-keys --now` skips the wait.",
    )

    bcrypt_rounds: int = Field(
        default=12, ge=4, le=31, description="bcrypt cost; older hashes are upgraded at login."
    )
    bcrypt_max_concurrency: int = Field(
        default_factory=_usable_cores,
        ge=1,
        description="Hashes computed at once (default: the usable cores), off the event loop.",
    )

    # A limit of 0 turns that limit off.
    signup_ip_limit: int = Field(
        default=10, ge=0, description="Signup attempts per client IP per window (0: off)."
    )
    signup_ip_window_seconds: int = Field(
        default=60, ge=1, description="Window of the signup limit per client IP."
    )
    signup_email_limit: int = Field(
        default=5, ge=0, description="Signup attempts per email per window (0: off)."
    )
    signup_email_window_seconds: int = Field(
        default=300, ge=1, description="Window of the signup limit per email."
    )
    login_ip_limit: int = Field(
        default=30, ge=0, description="Login attempts per client IP per window (0: off)."
    )
    login_ip_window_seconds: int = Field(
        default=60, ge=1, description="Window of the login limit per client IP."
    )
    login_email_limit: int = Field(
        default=20,
        ge=0,
        description="Failed logins per email per window, from any address (0: off); "
        "successful ones are not counted.",
    )
    login_email_window_seconds: int = Field(
        default=300, ge=1, description="Window of the failed-login limit per email."
    )
    login_email_ip_limit: int = Field(
        default=5,
        ge=0,
        description="Failed logins per email from one client IP per window (0: off): stops a "
        "guesser without locking the owner out from elsewhere.",
    )
    login_email_ip_window_seconds: int = Field(
        default=300, ge=1, description="Window of the failed-login limit per (email, IP)."
    )

    def secrets_to_check(self) -> dict[str, str]:
        return super().secrets_to_check() | {"KEY_ENCRYPTION_SECRET": self.key_encryption_secret}

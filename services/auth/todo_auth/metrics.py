"""The auth service's own metrics (beside the shared ones of `todo_shared.metrics`): bcrypt
work waiting and running, and the requests the rate limits refused."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

BCRYPT_QUEUED = Gauge(
    "todo_auth_bcrypt_queued",
    "Password hashes waiting for a bcrypt thread (BCRYPT_MAX_CONCURRENCY per worker).",
    multiprocess_mode="livesum",
)
BCRYPT_RUNNING = Gauge(
    "todo_auth_bcrypt_running",
    "Password hashes being computed now.",
    multiprocess_mode="livesum",
)
RATE_LIMITED = Counter(
    "todo_auth_rate_limited_total",
    "Signups and logins refused with 429, by action and by the limit that refused them "
    "(signup:ip, signup:email, login:ip, login:email, login:email-ip).",
    ["action", "limit"],
)

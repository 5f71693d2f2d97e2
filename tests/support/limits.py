"""The auth service with its rate limits turned off, for tests and the benchmark that measure
something else. Derived from the settings, so a new limit is covered without editing callers."""

from __future__ import annotations

from typing import Any

from todo_auth.settings import Settings

# A limit of 0 turns that limit off (see todo_auth.settings).
RATE_LIMITS_OFF: dict[str, Any] = {
    name: 0 for name in Settings.model_fields if name.endswith("_limit")
}

"""Print the service settings table of docs/configuration.md from the settings classes.

The settings classes are the one source of truth; tests/test_config_docs.py checks that
docs/configuration.md and .env.example name every variable they define.
"""

from __future__ import annotations

from typing import Any

from pydantic_settings import BaseSettings

from todo_auth.settings import Settings as AuthSettings
from todo_tasks.settings import Settings as TasksSettings

SERVICES: dict[str, type[BaseSettings]] = {"auth": AuthSettings, "tasks": TasksSettings}


def _default(field: Any) -> str:
    factory = field.default_factory
    if factory is not None and factory.__name__ != "<lambda>":
        return "(computed at start-up)"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, list):
        value = ",".join(map(str, value))
    return f"`{value}`" if value not in ("", None) else "(empty)"


def variables() -> dict[str, tuple[list[str], str, str]]:
    """Each environment variable: the services reading it, its default, what it means (per
    service, when the services describe it differently)."""
    docs: dict[str, dict[str, str]] = {}
    defaults: dict[str, str] = {}
    for service, settings in SERVICES.items():
        for name, field in settings.model_fields.items():
            env = name.upper()
            docs.setdefault(env, {})[service] = field.description or ""
            defaults.setdefault(env, _default(field))
    table: dict[str, tuple[list[str], str, str]] = {}
    for env, by_service in docs.items():
        meanings = set(by_service.values())
        if len(meanings) == 1:
            doc = meanings.pop()
        else:
            doc = " ".join(f"**{service}:** {meaning}" for service, meaning in by_service.items())
        table[env] = (list(by_service), defaults[env], doc)
    return table


def markdown() -> str:
    rows = ["| variable | service | default | meaning |", "|---|---|---|---|"]
    for env, (services, default, doc) in sorted(variables().items()):
        rows.append(f"| `{env}` | {', '.join(services)} | {default} | {doc} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown())

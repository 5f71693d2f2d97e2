"""Write the OpenAPI documents of both services to `openapi/`, from the apps, offline.

The apps are built with their default settings (no environment, no `.env`, no server, no
database), so the committed documents do not depend on the machine that generated them.
`scripts/openapi.sh` runs this, then regenerates the TypeScript client from the result;
tests/test_openapi.py fails when the committed files differ from what this produces.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from todo_auth.main import create_auth_app
from todo_auth.settings import Settings as AuthSettings
from todo_tasks.main import create_tasks_app
from todo_tasks.settings import Settings as TasksSettings

OUT = Path(__file__).resolve().parents[1] / "openapi"


def documents() -> dict[str, dict[str, Any]]:
    """Each service's document, by file stem."""
    return {
        "auth": create_auth_app(AuthSettings.model_construct()).openapi(),
        "tasks": create_tasks_app(TasksSettings.model_construct()).openapi(),
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, document in documents().items():
        (OUT / f"{name}.json").write_text(render(document))


if __name__ == "__main__":
    main()

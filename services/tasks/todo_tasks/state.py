"""What the running tasks service holds: made at start-up (`main.py`), read by the routes."""

from __future__ import annotations

from dataclasses import dataclass

from todo_shared.db import Database
from todo_shared.tokens import VerifierState
from todo_tasks.settings import Settings


@dataclass(frozen=True, kw_only=True)
class TasksState(VerifierState):
    settings: Settings
    database: Database

"""What the running tasks service holds: made at start-up (`main.py`), read by the routes."""

from __future__ import annotations

from dataclasses import dataclass

from todo_shared.db import Database
from todo_shared.notify import Notifications
from todo_shared.tokens import VerifierState
from todo_tasks.settings import Settings
from todo_tasks.streams import StreamSlots


@dataclass(frozen=True, kw_only=True)
class TasksState(VerifierState):
    settings: Settings
    database: Database
    # Commits of each user's tasks, from every replica (the live streams' wake-up calls).
    notifications: Notifications
    stream_slots: StreamSlots

"""The tasks service's own metrics (beside the shared ones of `todo_shared.metrics`): the live
event streams and how far behind the change feed they deliver.

The deletion outbox (not built yet) is to export `todo_tasks_outbox_backlog`, a gauge of the
deletions written but not yet carried out; the alert `OutboxBacklogGrowing`
(monitoring/prometheus/rules.yml) is written against that name.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram

from todo_tasks.schemas.changes import Change

EVENT_STREAMS_OPEN = Gauge(
    "todo_tasks_event_streams_open",
    "Live event streams (GET /api/{user_id}/events) open now.",
    multiprocess_mode="livesum",
)
EVENT_STREAMS_REFUSED = Counter(
    "todo_tasks_event_streams_refused_total",
    "Event streams refused with 429: the user held EVENT_STREAMS_PER_USER already.",
)
CHANGE_EVENTS_SENT = Counter(
    "todo_tasks_change_events_sent_total",
    "Changes written to live event streams (replays after Last-Event-ID included).",
)
CHANGE_FEED_LAG = Histogram(
    "todo_tasks_change_feed_lag_seconds",
    "From a task's write (its updated_at) to its change going out on a stream that was "
    "waiting for it (not a replay of what a reconnecting client missed).",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


def sent(change: Change, *, live: bool) -> None:
    """Count a change going out on a stream; one it was waiting for also shows its lag (a
    delete has no time of its own: only its count)."""
    CHANGE_EVENTS_SENT.inc()
    if live and change["op"] == "upsert":
        written = change["task"] if change["type"] == "task" else change["list"]
        CHANGE_FEED_LAG.observe(max(0.0, time.time() - written["updated_at"].timestamp()))

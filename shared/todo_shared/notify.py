"""PostgreSQL notifications fanned out to waiters in this process.

One connection per worker LISTENs on a channel; a waiter registers for a payload (a user id,
say) and is woken whenever a notification with it arrives, from any replica's commit. A
notification is only a wake-up call: the waiter re-reads the truth (for the tasks service,
the change feed), so one that is lost costs latency, never a change. While the connection is
down every waiter is woken every `poll_seconds` instead, and again when it comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg

logger = logging.getLogger("todo.notify")


class Notifications:
    def __init__(
        self, connect: Callable[[], Awaitable[Any]], channel: str, *, poll_seconds: float = 5.0
    ) -> None:
        self._connect = connect
        self._channel = channel
        self._poll_seconds = poll_seconds
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"listen {self._channel}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @contextlib.asynccontextmanager
    async def subscribe(self, key: str) -> AsyncIterator[asyncio.Event]:
        """An event set whenever `key` is notified (the holder clears it before re-reading)."""
        event = asyncio.Event()
        self._waiters[key].add(event)
        try:
            yield event
        finally:
            self._waiters[key].discard(event)
            if not self._waiters[key]:
                del self._waiters[key]

    @property
    def listening(self) -> bool:
        return self._connected.is_set()

    def _wake(self, key: str | None) -> None:
        groups = self._waiters.values() if key is None else [self._waiters.get(key, set())]
        for group in groups:
            for event in group:
                event.set()

    def _notified(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        self._wake(payload)

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                connection = await self._connect()
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                logger.warning("notifications unavailable", extra={"error": type(exc).__name__})
                self._wake(None)
                await asyncio.sleep(min(delay, self._poll_seconds))
                delay = min(delay * 2, self._poll_seconds)
                continue
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _, lost=lost: lost.set())
            try:
                await connection.add_listener(self._channel, self._notified)
                self._connected.set()
                delay = 0.5
                self._wake(None)  # whatever committed while nobody listened
                await lost.wait()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                logger.warning("notifications lost", extra={"error": type(exc).__name__})
            finally:
                self._connected.clear()
                self._wake(None)
                connection.terminate()

    @property
    def wait_seconds(self) -> float | None:
        """How long a waiter may sleep unwoken: as long as it likes while notifications flow,
        `poll_seconds` while they do not (it re-reads on its own)."""
        return None if self.listening else self._poll_seconds

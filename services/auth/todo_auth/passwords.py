"""Password hashing: bcrypt through passlib, off the event loop, a bounded number at a time."""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from passlib.context import CryptContext

from todo_auth.metrics import BCRYPT_QUEUED, BCRYPT_RUNNING

# bcrypt reads at most 72 bytes; a longer password is refused, never silently truncated.
MAX_PASSWORD_BYTES = 72

T = TypeVar("T")


def hashable(password: str) -> bool:
    """bcrypt can take it whole: valid UTF-8 (JSON lets a lone surrogate through), at most
    72 bytes of it, and no NUL byte."""
    try:
        encoded = password.encode()
    except UnicodeEncodeError:
        return False
    return b"\x00" not in encoded and len(encoded) <= MAX_PASSWORD_BYTES


class PasswordHasher:
    """Runs bcrypt in its own threads, so health checks and other requests never wait on it.

    The pool's `max_concurrency` threads (default: one per core) are the bound: further hashes
    queue rather than oversubscribe the CPU. A pool of its own, not the loop's default
    executor, so a hashing storm never delays DNS lookups that the default executor runs.
    """

    def __init__(self, *, rounds: int, max_concurrency: int) -> None:
        self._context = CryptContext(schemes=["bcrypt"], bcrypt__rounds=rounds)
        self._pool = ThreadPoolExecutor(max_concurrency, thread_name_prefix="bcrypt")
        # Unknown emails are checked against this, so they cost what a wrong password costs.
        self._dummy_hash = self._context.hash(secrets.token_urlsafe(16))

    async def _run(self, func: Callable[..., T], *args: object) -> T:
        # Whichever comes first, the hash starting or the request giving up, takes it off the
        # queue's gauge (once: a hash may start just as its request is cancelled).
        queued = threading.Lock()

        def leave_queue() -> None:
            if queued.acquire(blocking=False):
                BCRYPT_QUEUED.dec()

        def work() -> T:
            leave_queue()
            BCRYPT_RUNNING.inc()
            try:
                return func(*args)
            finally:
                BCRYPT_RUNNING.dec()

        BCRYPT_QUEUED.inc()
        try:
            # A request cancelled while its hash is still queued takes the hash off the queue.
            return await asyncio.get_running_loop().run_in_executor(self._pool, work)
        except asyncio.CancelledError:
            leave_queue()
            raise

    async def hash(self, password: str) -> str:
        return await self._run(self._context.hash, password)

    async def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        """Check a password in constant work; returns (matches, upgraded hash or None).

        A missing user or an unhashable password still pays one bcrypt round trip against
        the dummy hash, so timing does not tell them apart from a wrong password.
        """
        real = password_hash is not None and hashable(password)
        candidate = password if real else ""
        target = password_hash if real and password_hash is not None else self._dummy_hash
        matches, new_hash = await self._run(self._context.verify_and_update, candidate, target)
        if not real:
            return False, None
        return bool(matches), new_hash

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

"""Live fan-out: many open event streams, writes through one replica, and how long each write
takes to reach the streams on the other replica (and the memory the open streams hold).

Each stream is one asyncio protocol on its own connection that parses the HTTP/1.1 chunked
framing and the server-sent event blocks itself and stamps an arrival in `data_received`,
before anything else runs: a thousand httpx clients would spend more of the 2 cores than the
servers being measured, and their queueing would land in the latencies.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

from bench.load import LoadResult
from bench.seed import Caller

MARKER = "fan-out "  # the title each write sets: "fan-out <write number>"
OPEN_CONCURRENCY = 50  # streams being opened at once
DRAIN_SECONDS = 30.0  # after the last write, how long a missing event is waited for


class EventStream(asyncio.Protocol):
    """One `GET /api/{user}/events` on its own connection, and when each event arrived."""

    def __init__(self, caller: Caller, replica: int, port: int) -> None:
        self.user_id = caller.user_id
        self.replica = replica
        self._request = (
            f"GET /api/{caller.user_id}/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {caller.token}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
        # Set once the opening block (`id:` of the feed's end, `retry:`) is in: the stream is
        # then subscribed to its user's notifications.
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.arrivals: list[tuple[int, float]] = []  # (write number, perf_counter at arrival)
        self._transport: asyncio.BaseTransport | None = None
        self._head: bytes | None = b""  # None once the response head has been read
        self._chunks = b""
        self._events = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        assert isinstance(transport, asyncio.Transport)
        transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        if self._head is not None:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            head, data, self._head = self._head[:end], self._head[end + 4 :], None
            if (
                head.split(b" ", 2)[1] != b"200"
                or b"transfer-encoding: chunked" not in head.lower()
            ):
                self._fail(f"the stream answered {head.splitlines()[0]!r}")
                return
        self._chunks += data
        while (line_end := self._chunks.find(b"\r\n")) >= 0:
            size = int(self._chunks[:line_end].split(b";")[0], 16)
            start = line_end + 2
            if len(self._chunks) < start + size + 2:
                break
            if size == 0:
                self._fail("the stream ended")
                return
            self._events += self._chunks[start : start + size]
            self._chunks = self._chunks[start + size + 2 :]
        *blocks, self._events = self._events.split(b"\n\n")
        for block in blocks:
            self._block(block, now)

    def _block(self, block: bytes, now: float) -> None:
        if not self.opened.done():
            self.opened.set_result(None)
        for line in block.split(b"\n"):
            if line.startswith(b"data: "):
                title = orjson.loads(line[6:]).get("task", {}).get("title", "")
                if title.startswith(MARKER):
                    self.arrivals.append((int(title.removeprefix(MARKER)), now))

    def _fail(self, reason: str) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(reason))
        self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"connection lost: {exc!r}"))
        self.closed.set_result(None)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def open_stream(caller: Caller, replica: int, port: int) -> EventStream:
    loop = asyncio.get_running_loop()
    _, stream = await loop.create_connection(
        lambda: EventStream(caller, replica, port), "127.0.0.1", port
    )
    try:
        await asyncio.wait_for(stream.opened, 60)
    except BaseException:
        stream.close()
        raise
    return stream


async def open_streams(plan: list[tuple[Caller, int]], ports: list[int]) -> list[EventStream]:
    """A stream per (caller, replica index) of `plan`, `OPEN_CONCURRENCY` opening at a time."""
    limit = asyncio.Semaphore(OPEN_CONCURRENCY)

    async def one(caller: Caller, replica: int) -> EventStream:
        async with limit:
            return await open_stream(caller, replica, ports[replica])

    outcomes = await asyncio.gather(
        *(one(caller, replica) for caller, replica in plan), return_exceptions=True
    )
    streams = [outcome for outcome in outcomes if isinstance(outcome, EventStream)]
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            await close_streams(streams)
            raise outcome
    return streams


async def close_streams(streams: list[EventStream]) -> None:
    """Close the connections and wait until they are closed: a server stopped before then
    waits for them (its graceful shutdown) until it is killed."""
    for stream in streams:
        stream.close()
    if streams:
        await asyncio.wait([stream.closed for stream in streams], timeout=10)


async def write_at_rate(
    base_url: str, callers: list[Caller], rate: float, count: int, first: int = 0
) -> tuple[dict[int, tuple[str, float]], int]:
    """`count` PATCHes of the callers' tasks, in turn, started `rate` a second whatever the
    answers take (an open loop), each setting the title to its write number. Returns write
    number -> (user, perf_counter just before sending) of the writes that succeeded, and how
    many did not (an error status or no answer: counted, not fatal, as wrk counts them).

    One user's writes go one after another, so they commit in number order: an event
    carrying write n then tells that every earlier write of its user has committed too.
    """
    sent: dict[int, tuple[str, float]] = {}
    failed = 0
    locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:

        async def one(number: int, caller: Caller) -> None:
            nonlocal failed
            async with locks[caller.user_id]:
                when = time.perf_counter()
                try:
                    response = await client.patch(
                        f"/api/{caller.user_id}/tasks/{caller.task_id}",
                        json={"title": f"{MARKER}{number}"},
                        headers={"Authorization": f"Bearer {caller.token}"},
                    )
                except httpx.HTTPError:
                    failed += 1
                    return
            if response.is_success:
                sent[number] = (caller.user_id, when)
            else:
                failed += 1

        started = time.perf_counter()
        writes = []
        for n in range(count):
            await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
            caller = callers[n % len(callers)]
            writes.append(asyncio.create_task(one(first + n, caller)))
        await asyncio.gather(*writes)
    return sent, failed


def _last_writes(sent: dict[int, tuple[str, float]]) -> dict[str, int]:
    last: dict[str, int] = {}
    for number, (user, _) in sent.items():
        last[user] = max(number, last.get(user, number))
    return last


async def drain(streams: list[EventStream], sent: dict[int, tuple[str, float]]) -> None:
    """Wait until every stream has its user's last write, for at most `DRAIN_SECONDS`."""
    last = _last_writes(sent)
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline:
        if all(
            max((n for n, _ in s.arrivals), default=-1) >= last[s.user_id]
            for s in streams
            if s.user_id in last
        ):
            return
        await asyncio.sleep(0.05)


def latencies(
    streams: list[EventStream], sent: dict[int, tuple[str, float]]
) -> tuple[list[float], int]:
    """Seconds from sending each write to its arrival at each stream of its user, and how many
    never arrived. A stream that read the feed after two quick writes gets one event with the
    later (the feed gives a task as it is now): that event delivers both."""
    writes: defaultdict[str, list[int]] = defaultdict(list)
    for number, (user, _) in sent.items():
        writes[user].append(number)
    found: list[float] = []
    missed = 0
    for stream in streams:
        for number in writes.get(stream.user_id, []):
            when = next((t for n, t in stream.arrivals if n >= number), None)
            if when is None:
                missed += 1
            else:
                found.append(when - sent[number][1])
    return found, missed


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value at least `share` of the values do not exceed."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def result(seconds: list[float], errors: int, duration: float) -> LoadResult:
    """Deliveries as a load result: requests = deliveries, errors = events that never came
    (and, for the other replica's row, writes that failed)."""
    return LoadResult(
        requests=len(seconds),
        seconds=duration,
        errors=errors,
        p50_ms=percentile(seconds, 0.50) * 1000,
        p99_ms=percentile(seconds, 0.99) * 1000,
    )


def _group(pgids: list[int]) -> list[tuple[Path, list[str]]]:
    """The /proc directory and the stat fields after the command of every process in the
    process groups `pgids` (each server's, holding its workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The 2nd field, the command, may hold spaces: split after its closing bracket.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) in pgids:
                found.append((entry, fields))
        except (OSError, ValueError, IndexError):
            continue  # a process that ended meanwhile
    return found


def group_rss(pgids: list[int]) -> int:
    """Resident bytes of the processes of `pgids`."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for entry, _ in _group(pgids):
        try:
            total += int((entry / "statm").read_text().split()[1]) * page
        except (OSError, ValueError, IndexError):
            continue
    return total


def group_cpu(pgids: list[int]) -> float:
    """CPU seconds (user + system) the processes of `pgids` have used."""
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(fields[11]) + int(fields[12]) for _, fields in _group(pgids)) / ticks


@dataclass(frozen=True)
class FanOut:
    """What one fan-out measurement found."""

    other: LoadResult  # deliveries to the streams on the replicas that did not take the write
    same: LoadResult  # deliveries to the streams on the replica that took it
    streams: int
    users: int
    writes: int
    early: int  # streams opened before the baseline memory was read (the warm-up)
    rss_before: int  # bytes, all replicas, warmed up, only the `early` streams open
    rss_open: int  # every stream open, before the writes
    rss_after: int  # every stream open, after the writes and their events
    client_cpu_seconds: float  # this process's CPU from opening the streams to the drain
    open_cpu_seconds: float  # the replicas' CPU while the streams opened
    write_cpu_seconds: float  # the replicas' CPU from the first write to the drain

    def kib_per_stream(self, rss: int) -> float:
        return (rss - self.rss_before) / 1024 / (self.streams - self.early)


def deal(callers: list[Caller], streams: int, replicas: int) -> list[tuple[Caller, int]]:
    """`streams` (caller, replica index) pairs: round after round of every caller, each
    caller's streams alternating over the replicas, and neighbours on different replicas
    (so any first few streams are spread too)."""
    users = len(callers)
    return [(callers[i % users], (i % users + i // users) % replicas) for i in range(streams)]


async def measure(
    base_urls: list[str],
    pgids: list[int],
    callers: list[Caller],
    *,
    streams: int,
    rate: float,
    seconds: float,
) -> FanOut:
    """`streams` streams dealt over the callers and the replicas, then writes through the
    first replica at `rate` a second for `seconds`; latencies are judged per replica, memory
    over all of them.

    Before the baseline memory is read, the first 1% of the streams open and receive a
    write, and a burst of feed reads fills each worker's connection pool, so the RSS
    difference holds the other streams, not the first use of code paths or the pool's
    growth. Those early streams stay open: a closed stream's slot may outlive it (see
    bench/README.md), and every user's streams are already at EVENT_STREAMS_PER_USER.
    """
    ports = [int(url.rsplit(":", 1)[1]) for url in base_urls]
    plan = deal(callers, streams, len(ports))
    early = max(len(ports), streams // 100)
    opened = await open_streams(plan[:early], ports)
    try:
        warm_callers = [caller for caller, _ in plan[:early]]
        sent, _ = await write_at_rate(base_urls[0], warm_callers, rate, early)
        await drain(opened, sent)
        async with httpx.AsyncClient(timeout=60) as client:
            caller = callers[0]
            headers = {"Authorization": f"Bearer {caller.token}"}
            await asyncio.gather(
                *(
                    client.get(f"{url}/api/{caller.user_id}/changes?limit=1", headers=headers)
                    for url in base_urls
                    for _ in range(OPEN_CONCURRENCY)
                )
            )
        rss_before = group_rss(pgids)

        count = max(1, round(rate * seconds))
        cpu, open_cpu = time.process_time(), group_cpu(pgids)
        opened += await open_streams(plan[early:], ports)
        write_cpu = group_cpu(pgids)
        open_cpu = write_cpu - open_cpu
        await asyncio.sleep(1.0)
        rss_open = group_rss(pgids)
        write_cpu = group_cpu(pgids)
        started = time.perf_counter()
        sent, failed = await write_at_rate(base_urls[0], callers, rate, count, first=early)
        duration = time.perf_counter() - started
        await drain(opened, sent)
        cpu, write_cpu = time.process_time() - cpu, group_cpu(pgids) - write_cpu
        rss_after = group_rss(pgids)
    finally:
        await close_streams(opened)
    other, missed = latencies([s for s in opened if s.replica != 0], sent)
    same = latencies([s for s in opened if s.replica == 0], sent)
    return FanOut(
        other=result(other, missed + failed, duration),
        same=result(*same, duration),
        streams=streams,
        users=len({caller.user_id for caller, _ in plan}),
        writes=count,
        early=early,
        rss_before=rss_before,
        rss_open=rss_open,
        rss_after=rss_after,
        client_cpu_seconds=cpu,
        open_cpu_seconds=open_cpu,
        write_cpu_seconds=write_cpu,
    )

"""`python -m bench`: bring everything up, seed, load each hot path with wrk, print one table.

See bench/README.md for what each row means and the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import json
import math
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import bcrypt
import httpx

from bench import fanout, infra, seed
from bench.load import LoadResult, ensure_wrk, run_wrk
from bench.report import Row, render
from tests.support.limits import RATE_LIMITS_OFF
from tests.support.ports import free_port
from todo_shared.settings import VerifierSettings
from todo_tasks.repository import FeedPosition
from todo_tasks.settings import Settings as TasksSettings

JWKS_PATH = "/api/auth/jwks"  # what the tasks service's JWKS_URL points at; only it uses it
AUDIENCE = "todo-bench"

# Targets (see README): each is a ratio of two numbers measured in the same run.
LIST_VS_CEILING = 0.8
WRITE_VS_CEILING = 0.8
PROXY_VS_DIRECT = 0.9
BIG_USER_P50_VS_SMALL = 2.0
STORM_P99_VS_IDLE = 3.0
SIGNUP_VS_BCRYPT = 0.8
FEED_LONG_VS_SHORT = 1.2  # the cost (time) of a page after a long history, against a short one
FANOUT_P99_MS = 250.0
# A move (to the top of its list) by one person at a time: its neighbours read, one row
# written. (Under the rows' 32 connections every request's p99 is the queue's, not its own.)
MOVE_P99_MS = 20.0

FEED_SHORT_CHANGES = 100  # the short history the long one is compared with
FEED_TAIL = 50  # the page: the last changes of either history (the same in both), in one read
STREAMS_PER_USER = int(TasksSettings.model_fields["event_streams_per_user"].default)

# A load at the given seconds (None: the row's), as `Bench.tasks_load` runs it.
Load = Callable[[float | None], Awaitable[LoadResult]]


def usable_cores() -> int:
    return max(1, len(os.sched_getaffinity(0)))


@dataclass
class Config:
    users: int = 1000
    tasks_per_user: int = 50
    big_user_tasks: int = 100_000
    callers: int = 100
    feed_changes: int = 100_000
    streams: int = 1000
    fanout_rate: float = 20.0
    seconds: float = 10.0
    warmup_seconds: float = 2.0
    rounds: int = 3
    connections: int = 32
    auth_connections: int = 16
    storm_connections: int = 16
    workers: list[int] = field(default_factory=lambda: sorted({1, usable_cores()}))
    wrk_threads: int = 1
    bcrypt_samples: int = 5
    bcrypt_rounds: int = 12  # the services' default cost
    settle_seconds: float = 3.0
    json_path: Path | None = None
    keep_logs: bool = False

    @property
    def production_workers(self) -> int:
        """The worker count every row but the 1-worker comparison runs with (the last given)."""
        return self.workers[-1]


def parse_args(argv: list[str] | None) -> Config:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="seconds, tiny data (CI)")
    parser.add_argument("--users", type=int, help="seeded users (1000)")
    parser.add_argument("--tasks-per-user", type=int, help="seeded tasks per user (50)")
    parser.add_argument("--big-user-tasks", type=int, help="tasks of the one big user (100000)")
    parser.add_argument("--callers", type=int, help="users who log in; the load rotates (100)")
    parser.add_argument(
        "--feed-changes", type=int, help="changes in the long change-feed history (100000)"
    )
    parser.add_argument("--streams", type=int, help="open event streams, live fan-out (1000)")
    parser.add_argument(
        "--fanout-rate", type=float, help="writes per second while the streams are open (20)"
    )
    parser.add_argument("--seconds", type=float, help="duration of each row (10)")
    parser.add_argument("--warmup", type=float, dest="warmup_seconds", help="per server (2)")
    parser.add_argument("--connections", type=int, help="wrk connections, task rows (32)")
    parser.add_argument("--auth-connections", type=int, help="signup and login rows (16)")
    parser.add_argument("--storm-connections", type=int, help="signups beside the list (16)")
    parser.add_argument(
        "--workers",
        type=lambda text: sorted({int(part) for part in text.split(",")}),
        help="worker counts for GET list vs ceiling; the largest runs every other row "
        f"(default 1,{usable_cores()}: 1 and the usable cores)",
    )
    parser.add_argument("--wrk-threads", type=int, help="wrk threads (1)")
    parser.add_argument(
        "--rounds", type=int, help="alternating runs of each side of a throughput ratio (3)"
    )
    parser.add_argument("--json", type=Path, dest="json_path", help="also write rows as JSON")
    parser.add_argument("--keep-logs", action="store_true", help="keep the servers' logs")
    args = parser.parse_args(argv)
    config = Config()
    if args.smoke:
        config = Config(
            users=20,
            tasks_per_user=5,
            big_user_tasks=200,
            callers=5,
            feed_changes=1000,
            streams=20,
            fanout_rate=10.0,
            seconds=2.0,
            warmup_seconds=0.0,
            rounds=1,
            connections=8,
            auth_connections=4,
            storm_connections=4,
            workers=[1],
            bcrypt_samples=2,
            # The smoke checks that every row measures something: at cost 12 a two-second
            # bcrypt row on a busy machine can finish no hash at all.
            bcrypt_rounds=4,
            settle_seconds=1.0,
        )
    for name, value in vars(args).items():
        if name != "smoke" and value is not None:
            setattr(config, name, value)
    if config.callers > config.users:
        parser.error("--callers cannot exceed --users")
    if math.ceil(config.streams / config.callers) > STREAMS_PER_USER:
        parser.error(
            f"--streams over --callers is more than EVENT_STREAMS_PER_USER ({STREAMS_PER_USER})"
            " streams a user"
        )
    if config.streams < 4:
        parser.error("--streams must be at least 4")
    if config.feed_changes < FEED_TAIL:
        parser.error(f"--feed-changes must be at least {FEED_TAIL}")
    return config


def measure_bcrypt(samples: int, rounds: int) -> tuple[float, str]:
    """Seconds per bcrypt hash on one core (median), and a hash of the bench password."""
    times = []
    hashed = b""
    for _ in range(samples):
        started = time.perf_counter()
        hashed = bcrypt.hashpw(seed.PASSWORD.encode(), bcrypt.gensalt(rounds))
        times.append(time.perf_counter() - started)
    return statistics.median(times), hashed.decode()


def access_lines(log_path: Path, paths: set[str]) -> int:
    """How many requests for `paths` the server's JSON access log shows."""
    count = 0
    for line in log_path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("path") in paths:
            count += 1
    return count


async def settle(auth_log: Path, quiet_seconds: float, limit_seconds: float = 120.0) -> None:
    """Wait for the hashes wrk left queued to finish, so they don't weigh on the next row.

    wrk stops sending at the end of a row, but the requests still in flight keep the bcrypt
    threads busy: drained once no signup or login has been logged for `quiet_seconds`.
    """
    paths = {"/api/auth/signup", "/api/auth/login"}
    deadline = time.monotonic() + limit_seconds
    seen = access_lines(auth_log, paths)
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        now_seen = access_lines(auth_log, paths)
        if now_seen != seen:
            seen, quiet_since = now_seen, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_seconds:
            return


def count_jwks_fetches(log_path: Path) -> int:
    """Access-log lines of the auth service for the JWKS path the tasks service fetches."""
    return access_lines(log_path, {JWKS_PATH})


class Bench:
    """One run: servers, data and the measurements, in the order the table shows them."""

    def __init__(self, config: Config, databases: infra.Databases, wrk: str, workdir: Path):
        self.config = config
        self.databases = databases
        self.wrk = wrk
        self.workdir = workdir
        self.rows: list[Row] = []
        self.auth_port = free_port()
        self.issuer = f"http://127.0.0.1:{self.auth_port}"
        self.common_env = {
            "ENVIRONMENT": "production",
            "REDIS_URL": databases.redis_url,
            "JWT_ISSUER": self.issuer,
            "JWT_AUDIENCE": AUDIENCE,
            "LOG_LEVEL": "INFO",
        }
        self.run_tag = secrets.token_hex(4)
        self.load_numbers = itertools.count()
        self.callers_path = workdir / "callers.tsv"  # read by the Lua scripts
        self.emails_path = workdir / "emails.tsv"
        self.big_user_path = workdir / "big-user.tsv"  # the one caller of the big-user rows
        self.idle_list: LoadResult | None = None  # the last GET list row: the storm's baseline
        self.callers: list[seed.Caller] = []

    # -- servers ---------------------------------------------------------------------------

    def start_auth(self) -> infra.Server:
        env = {
            **self.common_env,
            "DATABASE_URL": self.databases.auth_url,
            "KEY_ENCRYPTION_SECRET": secrets.token_urlsafe(32),
            "WEB_CONCURRENCY": str(self.config.production_workers),
            "BCRYPT_ROUNDS": str(self.config.bcrypt_rounds),
            "ACCESS_TOKEN_TTL_SECONDS": "3600",
            # Every limit off: this measures throughput, not the limiter.
            **{name.upper(): str(value) for name, value in RATE_LIMITS_OFF.items()},
        }
        return infra.Server(
            "auth",
            infra.service_command("auth"),
            env,
            self.workdir / "auth.log",
            self.auth_port,
        )

    def start_tasks(self, workers: int, name: str = "tasks") -> infra.Server:
        env = {
            **self.common_env,
            "DATABASE_URL": self.databases.tasks_url,
            "JWKS_URL": f"{self.issuer}{JWKS_PATH}",
            "JWKS_ALLOW_HTTP_HOSTS": "127.0.0.1",
            "WEB_CONCURRENCY": str(workers),
        }
        port = free_port()
        log = self.workdir / f"{name}-{workers}w.log"
        return infra.Server(name, infra.service_command("tasks"), env, log, port)

    def start_ceiling(self, workers: int, jwks: str) -> infra.Server:
        env = {
            "CEILING_DATABASE_URL": self.databases.tasks_url,
            "CEILING_JWKS": jwks,
            "CEILING_ISSUER": self.issuer,
            "CEILING_AUDIENCE": AUDIENCE,
        }
        port = free_port()
        command = infra.uvicorn_command("bench.ceiling:app", port, workers)
        log = self.workdir / f"ceiling-{workers}w.log"
        return infra.Server("ceiling", command, env, log, port)

    # -- loads -----------------------------------------------------------------------------

    async def tasks_load(
        self,
        server: infra.Server | infra.Proxy,
        mode: str,
        seconds: float | None = None,
        *,
        callers: Path | None = None,
        query: str = "?limit=20",
        connections: int | None = None,
    ) -> LoadResult:
        return await run_wrk(
            self.wrk,
            server.base_url,
            "tasks.lua",
            [mode, str(callers or self.callers_path), query],
            connections=connections or self.config.connections,
            seconds=self.config.seconds if seconds is None else seconds,
            threads=min(self.config.wrk_threads, connections or self.config.connections),
        )

    async def auth_load(self, server: infra.Server, mode: str, connections: int) -> LoadResult:
        tag = f"{self.run_tag}-{next(self.load_numbers)}"  # fresh emails for every signup load
        source = tag if mode == "signup" else str(self.emails_path)
        return await run_wrk(
            self.wrk,
            server.base_url,
            "auth.lua",
            [mode, source, seed.PASSWORD],
            connections=connections,
            seconds=self.config.seconds,
            threads=self.config.wrk_threads,
        )

    def load(
        self,
        server: infra.Server | infra.Proxy,
        mode: str = "list",
        *,
        callers: Path | None = None,
        query: str = "?limit=20",
    ) -> Load:
        return functools.partial(self.tasks_load, server, mode, callers=callers, query=query)

    # -- the run ---------------------------------------------------------------------------

    async def run(self, password_hash: str) -> None:
        config = self.config
        started = time.monotonic()
        async with AsyncExitStack() as stack:
            auth = self.start_auth()
            stack.callback(auth.stop)
            await auth.wait_ready("/readyz")  # the issuer first, as compose's depends_on does
            tasks = self.start_tasks(config.workers[0])
            stack.callback(lambda: tasks.stop())
            await tasks.wait_ready("/readyz")

            *users, big_user, long_feed, short_feed = await seed.seed_users(
                self.databases.auth_url, config.users + 3, password_hash
            )
            newest = await seed.seed_tasks(
                self.databases.tasks_url, [uid for uid, _ in users], config.tasks_per_user
            )
            newest |= await seed.seed_tasks(
                self.databases.tasks_url, [big_user[0]], config.big_user_tasks
            )
            for (user_id, _), changes in (
                (long_feed, config.feed_changes),
                (short_feed, FEED_SHORT_CHANGES),
            ):
                newest[user_id] = await seed.seed_history(
                    self.databases.tasks_url, user_id, changes, FEED_TAIL
                )
            await seed.quiesce([self.databases.auth_url, self.databases.tasks_url])
            self.callers = await seed.log_in(auth.base_url, users[: config.callers], newest)
            seed.write_data_files(self.callers, self.callers_path, self.emails_path)
            big, long_caller, short_caller = await seed.log_in(
                auth.base_url, [big_user, long_feed, short_feed], newest
            )
            seed.write_data_files([big], self.big_user_path, self.workdir / "big-email.tsv")
            async with httpx.AsyncClient(base_url=auth.base_url) as client:
                jwks = (await client.get("/.well-known/jwks.json")).raise_for_status().text

            for workers in config.workers:
                if workers != config.workers[0]:
                    tasks.stop()
                    tasks = self.start_tasks(workers)
                    await tasks.wait_ready("/readyz")
                # The writes once, at the production worker count: each adds rows, and the
                # list rows above must read the seeded table.
                writes = workers == config.production_workers
                await self.versus_ceiling(tasks, workers, jwks, writes=writes)

            await self.proxy_row(auth, tasks)
            await self.big_user_rows(tasks, big)
            await self.search_rows(tasks)
            await self.feed_rows(tasks, long_caller, short_caller)
            await self.storm(auth, tasks)
            await self.task_rows(tasks)
            await self.fanout_rows()
            await self.bcrypt_rows(auth)
            elapsed = time.monotonic() - started
        self.jwks_row(auth.log_path, elapsed)

    async def alternate(
        self, ours: Load, theirs: Load, *, cost: bool = False
    ) -> tuple[LoadResult, LoadResult, str]:
        """`theirs` then `ours`, `rounds` times: both sides combined, and each round's ratio of
        throughputs (ours to theirs), or with `cost` of the time a request takes (the inverse).

        On two shared cores one 10 s row can run 20% faster or slower than the next for no
        reason of its own: a throughput ratio of a single pair of rows says as much about that
        drift as about the two servers, so the pairs alternate and the ratio is of totals.
        """
        if self.config.warmup_seconds > 0:
            await theirs(self.config.warmup_seconds)
            await ours(self.config.warmup_seconds)
        their_runs: list[LoadResult] = []
        our_runs: list[LoadResult] = []
        for _ in range(self.config.rounds):
            their_runs.append(await theirs(None))
            our_runs.append(await ours(None))
        pairs = [(b, a) if cost else (a, b) for a, b in zip(our_runs, their_runs, strict=True)]
        rounds = " ".join(
            f"{one.rps / other.rps if other.rps else 0.0:.2f}" for one, other in pairs
        )
        return LoadResult.combined(our_runs), LoadResult.combined(their_runs), rounds

    async def versus_ceiling(
        self, tasks: infra.Server, workers: int, jwks: str, *, writes: bool
    ) -> None:
        """GET list (and, with `writes`, POST create and PATCH) against the ceiling, each
        measured alternating with it at the same worker count."""
        loads = [("list", "GET list ?limit=20", "  ceiling GET list", LIST_VS_CEILING)]
        if writes:
            loads += [
                ("create", "POST create", "  ceiling POST create", WRITE_VS_CEILING),
                ("patch", "PATCH title+completed", "  ceiling PATCH", WRITE_VS_CEILING),
            ]
        ceiling = self.start_ceiling(workers, jwks)
        try:
            # Any answer means the pool is up (uvicorn serves after the lifespan started).
            await ceiling.wait_ready("/api/-/tasks", status=401, timeout_seconds=30)
            for mode, ours_name, theirs_name, target in loads:
                ours, theirs, rounds = await self.alternate(
                    self.load(tasks, mode), self.load(ceiling, mode)
                )
                self.ratio_rows(
                    (ours_name, ours),
                    (theirs_name, theirs),
                    rounds,
                    workers=workers,
                    versus="ceiling",
                    target=target,
                )
                if mode == "list":
                    self.idle_list = ours
        finally:
            ceiling.stop()

    async def proxy_row(self, auth: infra.Server, tasks: infra.Server) -> None:
        """GET list as users meet it: through the stack's nginx, against the same load sent
        straight to the same server."""
        port = free_port()
        template_path = self.workdir / "default.conf.template"
        template_path.write_text(infra.proxy_template(port))
        servers = {"auth": auth.base_url, "tasks": tasks.base_url}
        upstreams = {name: url.removeprefix("http://") for name, url in servers.items()}
        proxy = infra.Proxy(template_path, port, upstreams)
        try:
            await proxy.wait_ready()
            proxied, direct, rounds = await self.alternate(self.load(proxy), self.load(tasks))
        finally:
            proxy.stop()
        self.ratio_rows(
            ("GET list through nginx", proxied),
            ("  direct, alternating with it", direct),
            rounds,
            workers=self.config.production_workers,
            versus="direct",
            target=PROXY_VS_DIRECT,
        )

    def ratio_rows(
        self,
        ours: tuple[str, LoadResult],
        theirs: tuple[str, LoadResult],
        rounds: str,
        *,
        workers: int,
        versus: str,
        target: float,
    ) -> None:
        """A throughput ratio's two rows: ours, judged against `target`, then theirs."""
        ratio = ours[1].rps / theirs[1].rps if theirs[1].rps else 0.0
        note = f"rounds {rounds}" if self.config.rounds > 1 else "1 round"
        conns = self.config.connections
        self.rows.append(
            Row(
                ours[0],
                ours[1],
                workers,
                conns,
                compared=f"{ratio:.2f}x {versus} ({note})",
                target=f">= {target}x",
                passed=ratio >= target,
            )
        )
        self.rows.append(Row(theirs[0], theirs[1], workers, conns))

    async def big_user_rows(self, tasks: infra.Server, big: seed.Caller) -> None:
        """One user holding `big_user_tasks` tasks: pages near the top, at the end by offset,
        filtered, and at the end by cursor, against the 50-task users' list p50."""
        count = self.config.big_user_tasks
        last_offset = max(0, count - 20)
        async with httpx.AsyncClient(base_url=tasks.base_url) as client:
            before_last = await client.get(
                f"/api/{big.user_id}/tasks",
                params={"limit": 20, "offset": max(0, count - 40)},
                headers={"Authorization": f"Bearer {big.token}"},
            )
        cursor = before_last.raise_for_status().headers["X-Next-Cursor"]
        assert self.idle_list is not None, "the big-user rows run after a GET list row"
        small = self.idle_list.p50_ms
        for name, query, target in (
            ("first page", "?limit=20", True),
            ("last page by offset", f"?limit=20&offset={last_offset}", False),
            ("completed=true page", "?limit=20&completed=true", False),
            ("last page by cursor", f"?limit=20&cursor={cursor}", True),
            ("first page, sort=updated", "?limit=20&sort=updated", True),
            ("first page, sort=priority", "?limit=20&sort=priority", True),
            ("first page, sort=position", "?limit=20&inbox=true&sort=position", True),
        ):
            result = await self.tasks_load(tasks, "list", callers=self.big_user_path, query=query)
            ratio = result.p50_ms / small if small else math.inf
            self.rows.append(
                Row(
                    f"{count:,}-task user: {name}",
                    result,
                    self.config.production_workers,
                    self.config.connections,
                    compared=f"p50 {ratio:.2f}x 50-task user ({small:.1f} ms)",
                    target=f"<= {BIG_USER_P50_VS_SMALL:g}x" if target else "",
                    passed=ratio <= BIG_USER_P50_VS_SMALL if target else None,
                )
            )

    async def search_rows(self, tasks: infra.Server) -> None:
        """`?q=groc` (best matches first, a page of 20) for the big user, 100 matches among its
        100,000 tasks, and for the 50-task users, one match each, in the same database: a
        search costs its owner's matches, not the table. Each p50 is compared with the
        50-task users' list, as the big user's pages are."""
        assert self.idle_list is not None, "the search rows run after a GET list row"
        small = self.idle_list.p50_ms
        for name, callers, tasks_each in (
            (
                f"{self.config.big_user_tasks:,}-task user",
                self.big_user_path,
                self.config.big_user_tasks,
            ),
            (
                f"{self.config.tasks_per_user}-task users",
                self.callers_path,
                self.config.tasks_per_user,
            ),
        ):
            matches = math.ceil(tasks_each / seed.SEARCH_EVERY)
            result = await self.tasks_load(
                tasks, "list", callers=callers, query=f"?q={seed.SEARCH_QUERY}&limit=20"
            )
            ratio = result.p50_ms / small if small else math.inf
            self.rows.append(
                Row(
                    f"search ?q={seed.SEARCH_QUERY}, {name}",
                    result,
                    self.config.production_workers,
                    self.config.connections,
                    compared=f"p50 {ratio:.2f}x 50-task list ({small:.1f} ms); {matches} match(es)",
                    target=f"<= {BIG_USER_P50_VS_SMALL:g}x",
                    passed=ratio <= BIG_USER_P50_VS_SMALL,
                )
            )

    async def feed_rows(self, tasks: infra.Server, long: seed.Caller, short: seed.Caller) -> None:
        """One page of the change feed, from `FEED_TAIL` changes before its end to the end,
        after a long history and after a short one, measured alternating and compared by the
        time a request takes. Both histories end with the same changes, so the two pages
        hold the same changes (checked) and differ only in what lies behind them.

        The cursor is the one the service gives a reader whose last page ended at that change,
        encoded as the service encodes it.
        """
        loads: list[Load] = []
        pages = []
        async with httpx.AsyncClient(base_url=tasks.base_url) as client:
            for caller, changes in (
                (long, self.config.feed_changes),
                (short, FEED_SHORT_CHANGES),
            ):
                cursor = FeedPosition(changes - FEED_TAIL, FeedPosition.now()).encode()
                query = f"?since={cursor}&limit={FEED_TAIL}"
                page = await client.get(
                    f"/api/{caller.user_id}/changes{query}",
                    headers={"Authorization": f"Bearer {caller.token}"},
                )
                changed = page.raise_for_status().json()["changes"]
                pages.append([(change["op"], change["version"]) for change in changed])
                path = self.workdir / f"feed-{changes}.tsv"
                seed.write_data_files([caller], path, self.workdir / f"feed-{changes}-email.tsv")
                loads.append(self.load(tasks, "changes", callers=path, query=query))
        if not pages[0] or pages[0] != pages[1]:
            raise RuntimeError(f"the two histories' last pages differ: {pages}")
        ours, theirs, rounds = await self.alternate(*loads, cost=True)
        ratio = theirs.rps / ours.rps if ours.rps else math.inf
        note = f"rounds {rounds}" if self.config.rounds > 1 else "1 round"
        workers, conns = self.config.production_workers, self.config.connections
        self.rows.append(
            Row(
                f"change feed page after {self.config.feed_changes:,} changes",
                ours,
                workers,
                conns,
                compared=f"{ratio:.2f}x the time after {FEED_SHORT_CHANGES} ({note})",
                target=f"<= {FEED_LONG_VS_SHORT:g}x",
                passed=ratio <= FEED_LONG_VS_SHORT,
            )
        )
        self.rows.append(
            Row(f"  after {FEED_SHORT_CHANGES} changes, alternating", theirs, workers, conns)
        )

    async def storm(self, auth: infra.Server, tasks: infra.Server) -> None:
        storm_conns = self.config.storm_connections
        signups, listing = await asyncio.gather(
            self.auth_load(auth, "signup", storm_conns), self.tasks_load(tasks, "list")
        )
        await settle(auth.log_path, self.config.settle_seconds)
        assert self.idle_list is not None, "the storm runs after a GET list row"
        idle = self.idle_list.p99_ms
        ratio = listing.p99_ms / idle if idle else math.inf
        workers = self.config.production_workers
        self.rows.append(
            Row(
                "GET list during signup storm",
                listing,
                workers,
                self.config.connections,
                compared=f"p99 {ratio:.2f}x idle ({idle:.1f} ms)",
                target=f"<= {STORM_P99_VS_IDLE:g}x",
                passed=ratio <= STORM_P99_VS_IDLE,
            )
        )
        self.rows.append(Row("  the signup storm beside it", signups, workers, storm_conns))

    async def task_rows(self, tasks: infra.Server) -> None:
        workers = self.config.production_workers
        results = {}
        for name, mode in (("GET one", "one"), ("PATCH complete", "complete")):
            results[mode] = result = await self.tasks_load(tasks, mode)
            self.rows.append(Row(name, result, workers, self.config.connections))
        patches = results["complete"]
        moves = await self.tasks_load(tasks, "move")
        self.rows.append(
            Row(
                "POST move (to the top of its list)",
                moves,
                workers,
                self.config.connections,
                compared=f"{moves.rps / patches.rps if patches.rps else 0.0:.2f}x PATCH complete",
            )
        )
        alone = await self.tasks_load(tasks, "move", connections=1)
        self.rows.append(
            Row(
                "  POST move, one connection",
                alone,
                workers,
                1,
                target=f"p99 <= {MOVE_P99_MS:g} ms",
                passed=alone.p99_ms <= MOVE_P99_MS,
            )
        )

    async def fanout_rows(self) -> None:
        """Live updates across replicas: `streams` event streams over two tasks replicas that
        together run the production worker count, writes through the first, and the time to
        each write's events on the other replica's streams (and, beside it, on the first's).
        """
        config = self.config
        total = config.production_workers
        split = [max(1, total // 2), max(1, total - total // 2)]
        replicas: list[infra.Server] = []
        try:
            for index, workers in enumerate(split, 1):
                replicas.append(self.start_tasks(workers, f"tasks-replica{index}"))
            # Started together, as a deployment starts its replicas (migrations allow it).
            await asyncio.gather(*(replica.wait_ready("/readyz") for replica in replicas))
            found = await fanout.measure(
                [replica.base_url for replica in replicas],
                [replica.process.pid for replica in replicas],  # each its own process group
                self.callers,
                streams=config.streams,
                rate=config.fanout_rate,
                seconds=config.seconds,
            )
        finally:
            for replica in replicas:
                replica.stop()
        after = found.kib_per_stream(found.rss_after)
        opened = found.kib_per_stream(found.rss_open)
        workers = sum(split)
        other = found.other
        self.rows.append(
            Row(
                "live fan-out to the other replica",
                other,
                workers,
                found.streams,
                compared=f"{found.users} users on {len(split)} replicas, {found.writes} writes"
                f" via replica 1; RSS {after:.0f} KiB a stream ({opened:.0f} before the writes)",
                target=f"p99 <= {FANOUT_P99_MS:g} ms",
                passed=other.errors == 0 and other.p99_ms <= FANOUT_P99_MS,
                value=after,
            )
        )
        self.rows.append(
            Row(
                "  to the replica that took the write",
                found.same,
                workers,
                found.streams,
                compared=f"replicas' CPU {found.open_cpu_seconds:.1f} s opening,"
                f" {found.write_cpu_seconds:.1f} s from the writes on; the bench's client"
                f" {found.client_cpu_seconds:.1f} s",
            )
        )

    async def bcrypt_rows(self, auth: infra.Server) -> None:
        # The machine's own rate, measured now: neighbours' load at this moment counts for both.
        seconds, _ = await asyncio.to_thread(
            measure_bcrypt, self.config.bcrypt_samples, self.config.bcrypt_rounds
        )
        cores = usable_cores()
        machine = cores / seconds
        basis = f"{cores} x 1/{seconds * 1000:.0f} ms = {machine:.1f}/s"
        conns = self.config.auth_connections
        workers = self.config.production_workers
        signup = await self.auth_load(auth, "signup", conns)
        await settle(auth.log_path, self.config.settle_seconds)
        ratio = signup.rps / machine
        self.rows.append(
            Row(
                "POST signup (hashes/s = req/s)",
                signup,
                workers,
                conns,
                compared=f"{ratio:.2f}x bcrypt-{self.config.bcrypt_rounds} ({basis})",
                target=f">= {SIGNUP_VS_BCRYPT}x",
                passed=ratio >= SIGNUP_VS_BCRYPT,
            )
        )
        login = await self.auth_load(auth, "login", conns)
        await settle(auth.log_path, self.config.settle_seconds)
        self.rows.append(
            Row(
                "POST login (hashes/s = req/s)",
                login,
                workers,
                conns,
                compared=f"{login.rps / machine:.2f}x bcrypt-{self.config.bcrypt_rounds} ({basis})",
            )
        )

    def jwks_row(self, auth_log: Path, elapsed: float) -> None:
        cooldown = float(VerifierSettings.model_fields["jwks_refetch_cooldown_seconds"].default)
        fetches = count_jwks_fetches(auth_log)
        windows = max(1, math.ceil(elapsed / cooldown))
        self.rows.append(
            Row(
                "JWKS fetches, whole run",
                compared=f"{fetches} in {elapsed:.0f} s; cooldown {cooldown:g} s: "
                f"{windows} window(s)",
                target="<= 1 per window",
                passed=0 < fetches <= windows,
                value=fetches,
            )
        )


def machine_line() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"nproc {usable_cores()}, {model}, {now}"


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    wrk = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="todo-bench-"))
    print(f"bench: logs in {workdir}", file=sys.stderr)
    _, password_hash = measure_bcrypt(1, config.bcrypt_rounds)
    bench: Bench | None = None
    ok = False
    try:
        with infra.containers() as databases:
            bench = Bench(config, databases, wrk, workdir)
            asyncio.run(bench.run(password_hash))
        ok = True
    finally:
        if ok and not config.keep_logs:
            shutil.rmtree(workdir, ignore_errors=True)
        elif not ok:
            print(f"bench: failed; servers' logs kept in {workdir}", file=sys.stderr)
    assert bench is not None
    print(f"\n{machine_line()}")
    print(
        f"seed: {config.users} users x {config.tasks_per_user} tasks and one user with "
        f"{config.big_user_tasks:,}, load rotates over {config.callers} callers' tokens; "
        f"{config.seconds:g} s per row\n"
    )
    print(render(bench.rows))
    if config.json_path is not None:
        config.json_path.write_text(
            json.dumps({"machine": machine_line(), "rows": [r.as_dict() for r in bench.rows]})
        )
    return 0

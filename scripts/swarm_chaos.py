"""The scale-out test: the swarm stack on a three-node cluster, under load, while it changes.

    scripts/swarm-test.sh        # prepares Docker and the base images, then runs this

It builds a throw-away swarm of three Docker engines running in containers (one manager, two
workers), copies the images onto them with deploy/swarm/distribute-images.sh, deploys with
deploy/swarm/deploy.sh, and keeps a bounded load on the proxy (through 127.0.0.1 only) while
it scales tasks and auth up and down, rolls a new image of each (start-first), drains a
worker and kills a replica of each service (three rounds). The web front end runs too: one
of the load's users signed up through its Better Auth, whose tokens tasks must accept.

The load is a well-behaved client: every request that is safe to send twice (reads, the
`{"completed": true}` PATCH, creates, each with an `Idempotency-Key`) is sent once more
after a 502, a 503 or a transport error, as a browser resends a request whose connection
closed unanswered and as the front end's client retries a create. Per step it prints the
requests sent, the errors seen on a first attempt, the requests that still failed (any
unexpected status or transport error, after that one retry), and the acknowledged writes
that cannot be read back. The load goes on while a step's writes are checked, so each step's
figures run from the end of the one before (a last row has those of the last checks): every
request, write and event counts in exactly one row. At the end every user's tasks are
listed: each acknowledged write must be there exactly once, and no create may have made two
tasks.

Every user also holds a live event stream (`GET /api/{user}/events`) through the proxy from
before the load starts to after it ends, as a client of the API should: when a stream ends
(its token expired: the auth service's tokens live ACCESS_TOKEN_TTL_SECONDS here; its
replica went away) or breaks, it reconnects with `Last-Event-ID`, with a fresh token when
its own has expired or is refused. Per step it prints the change events received, the
reconnections, and the step's acknowledged writes (creates and PATCHes, each with the
version it answered) that the stream had not delivered at that version (or a later one)
within STREAM_CATCH_UP_SECONDS; at the end, the tasks rebuilt from each stream's events
must equal the user's tasks as listed (ids and versions). Exit status 0 only when no
request failed, no write was lost, duplicated or missed by a stream, and auth and tasks had
replicas on more than one node in every step.

Environment: SWARM_TEST_PORT (default 18080) is the 127.0.0.1 port of the proxy;
SWARM_TEST_KEEP=1 leaves the cluster running afterwards (remove it with
`docker rm -f todo-swarm-1 todo-swarm-2 todo-swarm-3`).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "todo-swarm"
NODES = tuple(f"{PREFIX}-{n}" for n in (1, 2, 3))
MANAGER = NODES[0]
NETWORK = f"{PREFIX}-net"
STACK = "todo"
PORT = int(os.environ.get("SWARM_TEST_PORT", "18080"))
BASE_URL = f"http://127.0.0.1:{PORT}"
IMAGE = {service: f"todo-backend/{service}:swarm-test" for service in ("auth", "tasks")}
ROLLED = {service: f"{image}-rolled" for service, image in IMAGE.items()}
FRONTEND_IMAGE = "todo-backend/frontend:swarm-test"
# Concurrent clients, and each one's pause between requests: a load the two-core machines
# this runs on can carry while they also run seven containers of the stack.
CLIENTS = 4
PAUSE_SECONDS = 0.05
REQUEST_TIMEOUT_SECONDS = 30.0
# A create that met one of these is retried once with its Idempotency-Key, after this pause.
RETRIED_STATUSES = (502, 503)
RETRY_PAUSE_SECONDS = 0.5
# How often the web user's token is renewed (Better Auth's tokens live 15 minutes).
WEB_TOKEN_RENEW_SECONDS = 60.0
CONVERGE_TIMEOUT_SECONDS = 240.0
# The auth service's token lifetime in this test (900 s by default): short enough that each
# of its users' streams ends by expiry, and resumes with a fresh token, a few times a run.
ACCESS_TOKEN_TTL_SECONDS = 120
# A stream that says nothing for this long (three keep-alives missed) is dropped and resumed.
STREAM_READ_TIMEOUT_SECONDS = 45.0
# A token this close to its expiry is renewed before a stream is opened with it.
STREAM_TOKEN_MARGIN_SECONDS = 10.0
# How long the streams may take to deliver a step's writes (a reconnection after a 429 waits
# its Retry-After, 30 s) before the ones still missing count as missed.
STREAM_CATCH_UP_SECONDS = 60.0
# Rounds of the kill step (SIGKILL a tasks and an auth replica, wait until replaced).
KILL_ROUNDS = 3
# Engines in containers without --privileged (see docs/deploy.md).
NODE_FLAGS = (
    "--cap-add=ALL",
    "--cap-drop=SYS_RESOURCE",
    "--security-opt=seccomp=unconfined",
    "--security-opt=apparmor=unconfined",
    "--security-opt=systempaths=unconfined",
    "--device-cgroup-rule=a *:* rwm",
    "--cgroupns=private",
)


def log(message: str) -> None:
    print(f"swarm-test: {message}", file=sys.stderr, flush=True)


def run(*args: str, host: str | None = None, stdin: str | None = None) -> str:
    """A docker command (against one node's engine when host is given); its stdout."""
    command = ["docker", *(["-H", host] if host else []), *args]
    result = subprocess.run(command, input=stdin, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {result.stderr.strip()}")
    return result.stdout.strip()


class Cluster:
    """Three engines in containers on one bridge network, each driven through its socket."""

    def __init__(self, sockets_dir: Path) -> None:
        self.sockets_dir = sockets_dir

    def host(self, node: str) -> str:
        return f"unix://{self.sockets_dir / node / 'docker.sock'}"

    @property
    def manager(self) -> str:
        return self.host(MANAGER)

    def remove(self) -> None:
        for node in NODES:
            with contextlib.suppress(RuntimeError):
                run("rm", "--force", "--volumes", node)
            with contextlib.suppress(RuntimeError):
                run("volume", "rm", f"{node}-data")
        with contextlib.suppress(RuntimeError):
            run("network", "rm", NETWORK)

    def start(self, node_image: str) -> None:
        self.remove()
        run("network", "create", NETWORK)
        for node in NODES:
            (self.sockets_dir / node).mkdir(parents=True, exist_ok=True)
            publish = ["--publish", f"127.0.0.1:{PORT}:8080"] if node == MANAGER else []
            run(
                "run",
                "--detach",
                "--name",
                node,
                "--hostname",
                node,
                "--network",
                NETWORK,
                *NODE_FLAGS,
                *publish,
                "--volume",
                f"{self.sockets_dir / node}:/run/outer",
                "--volume",
                f"{node}-data:/var/lib/docker",
                node_image,
            )
        for node in NODES:
            wait_until(partial(_answers, self.host(node)), f"{node}'s engine", 90)
        address = run(
            "inspect",
            "-f",
            f'{{{{(index .NetworkSettings.Networks "{NETWORK}").IPAddress}}}}',
            MANAGER,
        )
        run("swarm", "init", "--advertise-addr", address, host=self.manager)
        token = run("swarm", "join-token", "-q", "worker", host=self.manager)
        for node in NODES[1:]:
            run("swarm", "join", "--token", token, f"{address}:2377", host=self.host(node))

    def distribute(self, manager_images: list[str], worker_images: list[str]) -> None:
        script = str(ROOT / "deploy" / "swarm" / "distribute-images.sh")
        for hosts, images in (
            ([self.manager], manager_images),
            ([self.host(n) for n in NODES[1:]], worker_images),
        ):
            environment = os.environ | {"IMAGES": " ".join(images)}
            subprocess.run(["bash", script, *hosts], env=environment, check=True)

    def tasks_by_node(self, service: str) -> list[str]:
        """Nodes of the running tasks of one stack service."""
        out = run(
            "service",
            "ps",
            f"{STACK}_{service}",
            "--filter",
            "desired-state=running",
            "--format",
            "{{.Node}} {{.CurrentState}}",
            host=self.manager,
        )
        return sorted(line.split()[0] for line in out.splitlines() if " Running " in f"{line} ")

    def converged(self) -> bool:
        """Every service at its replica count, auth and tasks with exactly that many tasks
        running (none starting or stopping), and no update in progress."""
        out = run("service", "ls", "--format", "{{.Name}} {{.Replicas}}", host=self.manager)
        for line in out.splitlines():
            running, _, wanted = line.split()[1].partition("/")
            if running != wanted or wanted == "0":
                return False
        for service in ("auth", "tasks"):
            spec = run(
                "service", "inspect", f"{STACK}_{service}", "--format",
                "{{.Spec.Mode.Replicated.Replicas}} "
                "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{else}}none{{end}}",
                host=self.manager,
            )  # fmt: skip
            replicas, state = spec.split()
            if state not in ("none", "completed", "rollback_completed"):
                return False
            if len(self.tasks_by_node(service)) != int(replicas):
                return False
        return True

    def diagnose(self) -> None:
        """What went wrong where: the tasks of each service, and their latest log lines."""
        for service in ("auth", "tasks", "frontend"):
            name = f"{STACK}_{service}"
            for args in (
                ("service", "ps", "--no-trunc", name),
                ("service", "logs", "--tail", "15", name),
            ):
                with contextlib.suppress(RuntimeError):
                    print(run(*args, host=self.manager), file=sys.stderr)


def _answers(host: str) -> bool:
    try:
        run("info", "--format", "{{.ID}}", host=host)
    except RuntimeError:
        return False
    return True


def wait_until(condition: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(2)


# --- load ---------------------------------------------------------------------------------


@dataclass
class User:
    email: str
    password: str
    id: str = ""
    token: str = ""
    # Signed up through the front end's Better Auth (its token comes from /auth/token).
    web: bool = False
    renewed_at: float = 0.0  # monotonic; when a web user's token was last renewed
    tasks: list[str] = field(default_factory=list)


@dataclass
class Tally:
    sent: int = 0
    first_errors: int = 0  # requests whose first attempt failed (repeatable ones are then retried)
    retried: int = 0
    failed: int = 0  # requests that failed in the end
    reasons: collections.Counter[str] = field(default_factory=collections.Counter)
    written: list[tuple[User, str]] = field(default_factory=list)
    # Every acknowledged write (create or PATCH): its user, task id and the version it answered.
    changes: list[tuple[User, int, int]] = field(default_factory=list)
    events: int = 0  # change events the streams received
    reconnects: int = 0  # streams opened again after one ended or broke


def _route(method: str, path: str, user: User | None) -> str:
    route = path if user is None else path.replace(user.id, "{user}")
    return f"{method} {route.split('/tasks/')[0]}"


class Load:
    """CLIENTS loops of API calls over a few users; every call is counted in `tally`."""

    def __init__(self, client: httpx.AsyncClient, users: list[User]) -> None:
        self.client = client
        self.users = users
        self.tally = Tally()
        self.stopping = False

    async def attempt(
        self,
        method: str,
        path: str,
        user: User | None,
        **options: Any,
    ) -> httpx.Response | str:
        """One request: its response, or the name of the transport error."""
        headers = options.pop("headers", {})
        if user is not None:
            headers["Authorization"] = f"Bearer {user.token}"
        try:
            return await self.client.request(method, path, headers=headers, **options)
        except httpx.HTTPError as error:
            return type(error).__name__

    async def call(
        self,
        method: str,
        path: str,
        expected: int,
        user: User | None = None,
        *,
        repeatable: bool = False,
        **options: Any,
    ) -> httpx.Response | None:
        """A request, counted. A `repeatable` one (a read, a write of absolute values, a create
        with an Idempotency-Key: sending it twice does what sending it once does) is sent once
        more after a 502/503 or a transport error, as a browser resends a request whose
        connection closed unanswered (RFC 9110, 9.2.2); any other's first error is its failure."""
        tally = self.tally
        tally.sent += 1
        route = _route(method, path, user)
        outcome: httpx.Response | str = ""
        for attempt in range(2 if repeatable else 1):
            if attempt:
                tally.retried += 1
                await asyncio.sleep(RETRY_PAUSE_SECONDS)
            outcome = await self.attempt(method, path, user, **options)
            if isinstance(outcome, httpx.Response) and outcome.status_code == expected:
                return outcome
            what = outcome if isinstance(outcome, str) else outcome.status_code
            if attempt == 0:
                tally.first_errors += 1
                if repeatable:
                    tally.reasons[f"{route}, first attempt: {what}"] += 1
            if not (isinstance(outcome, str) or outcome.status_code in RETRIED_STATUSES):
                break
        tally.failed += 1
        what = outcome if isinstance(outcome, str) else outcome.status_code
        tally.reasons[f"{route}{', failed' if repeatable else ''}: {what}"] += 1
        return None

    async def create(self, user: User, title: str) -> httpx.Response | None:
        """POST a task with an Idempotency-Key, so that its retry cannot make a second task."""
        return await self.call(
            "POST",
            f"/api/{user.id}/tasks",
            201,
            user,
            repeatable=True,
            json={"title": title},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )

    async def renew_token(self, user: User, *, now: bool = False) -> None:
        """A login at the auth service, or for a web user a token from Better Auth, which a
        browser asks for once per token lifetime: here once a minute at most (Better Auth
        limits each address to 100 calls in a window that every call extends)."""
        if user.web:
            if not now and time.monotonic() - user.renewed_at < WEB_TOKEN_RENEW_SECONDS:
                return
            renewed = await self.call(
                "GET", "/auth/token", 200, repeatable=True, headers={"Origin": BASE_URL}
            )
            if renewed is not None:
                user.token = renewed.json()["token"]
                user.renewed_at = time.monotonic()
            return
        login = await self.call("POST", "/api/auth/login", 200, json=_credentials(user))
        if login is not None:
            user.token = login.json()["access_token"]

    async def client_loop(self, number: int) -> None:
        rng = random.Random(number)
        for iteration in itertools.count():
            if self.stopping:
                return
            user = self.users[(number + iteration) % len(self.users)]
            base = f"/api/{user.id}/tasks"
            created = await self.create(user, f"swarm {number}-{iteration}")
            if created is not None:
                body = created.json()
                user.tasks.append(body["id"])
                self.tally.written.append((user, body["id"]))
                self.tally.changes.append((user, body["id"], body["version"]))
            await asyncio.sleep(PAUSE_SECONDS)
            await self.call("GET", base, 200, user, repeatable=True, params={"limit": 20})
            if user.tasks:
                task = rng.choice(user.tasks)
                done = {"completed": True}  # a value, not a toggle: safe to send twice
                patched = await self.call(
                    "PATCH", f"{base}/{task}/complete", 200, user, repeatable=True, json=done
                )
                if patched is not None:
                    body = patched.json()
                    self.tally.changes.append((user, body["id"], body["version"]))
            await asyncio.sleep(PAUSE_SECONDS)
            if iteration % 4 == 0:  # the issuers: a new token, and the auth service's JWKS
                await self.renew_token(user)
                await self.call("GET", "/.well-known/jwks.json", 200, repeatable=True)
            await asyncio.sleep(PAUSE_SECONDS)

    async def lost(self, written: list[tuple[User, str]]) -> int:
        """Acknowledged writes that cannot be read back (a 404; other answers are retried)."""
        lost = 0
        for user, task_id in written:
            for _ in range(5):
                response = await self.client.get(
                    f"/api/{user.id}/tasks/{task_id}",
                    headers={"Authorization": f"Bearer {user.token}"},
                )
                if response.status_code in (200, 404):
                    break
                await asyncio.sleep(1)
            if response.status_code != 200:
                lost += 1
        return lost

    async def audit(self) -> tuple[int, int, int]:
        """(acknowledged writes, those missing, tasks duplicated) over every user's full list.

        Each create has a title of its own, so a title listed twice is a create that made two
        tasks (a retry the key did not deduplicate)."""
        acknowledged = missing = duplicated = 0
        for user in self.users:
            await self.renew_token(user, now=True)
            listed = await self.list_all(user)
            ids = collections.Counter(task["id"] for task in listed)
            titles = collections.Counter(task["title"] for task in listed)
            acknowledged += len(user.tasks)
            missing += sum(1 for task_id in user.tasks if ids[task_id] != 1)
            duplicated += sum(count - 1 for count in titles.values())
        return acknowledged, missing, duplicated

    async def list_all(self, user: User) -> list[dict[str, Any]]:
        tasks: list[dict[str, Any]] = []
        params: dict[str, str | int] = {"limit": 100}
        while True:
            response = await self.client.get(
                f"/api/{user.id}/tasks",
                params=params,
                headers={"Authorization": f"Bearer {user.token}"},
            )
            response.raise_for_status()
            tasks.extend(response.json())
            cursor = response.headers.get("x-next-cursor")
            if cursor is None:
                return tasks
            params = {"limit": 100, "cursor": cursor}


def _credentials(user: User) -> dict[str, str]:
    return {"email": user.email, "password": user.password}


async def sign_up(client: httpx.AsyncClient, count: int) -> list[User]:
    """`count` accounts at the auth service, and one through the front end's Better Auth."""
    users = []
    for _ in range(count):
        user = User(email=f"swarm-{uuid.uuid4().hex[:10]}@example.com", password=uuid.uuid4().hex)
        signup = await client.post("/api/auth/signup", json=_credentials(user))
        signup.raise_for_status()
        user.id = signup.json()["id"]
        login = await client.post("/api/auth/login", json=_credentials(user))
        login.raise_for_status()
        user.token = login.json()["access_token"]
        users.append(user)
    web = User(f"web-{uuid.uuid4().hex[:10]}@example.com", uuid.uuid4().hex, web=True)
    origin = {"Origin": BASE_URL}  # Better Auth refuses a foreign origin
    signup = await client.post(
        "/auth/sign-up/email", json={**_credentials(web), "name": "swarm"}, headers=origin
    )
    signup.raise_for_status()
    web.id = signup.json()["user"]["id"]
    token = await client.get("/auth/token", headers=origin)  # with the session cookie
    token.raise_for_status()
    web.token = token.json()["token"]
    web.renewed_at = time.monotonic()
    users.append(web)
    return users


async def until_serving(client: httpx.AsyncClient, users: list[User]) -> int:
    """Wait until each user's token is accepted 10 times in a row; the refusals met on the
    way (right after a deploy there should be none: see todo_shared.jwks.cache)."""
    refused = 0
    deadline = time.monotonic() + 120
    for user in users:
        in_a_row = 0
        while in_a_row < 10:
            if time.monotonic() > deadline:
                raise RuntimeError(f"tasks does not accept the tokens of {user.email}")
            response = await client.get(
                f"/api/{user.id}/tasks", headers={"Authorization": f"Bearer {user.token}"}
            )
            if response.status_code == 200:
                in_a_row += 1
            else:
                in_a_row = 0
                refused += 1
                await asyncio.sleep(0.2)
    return refused


# --- live event streams -------------------------------------------------------------------


def _expires_at(token: str) -> float:
    """A JWT's `exp`, read without verifying: only to tell an expired token from a refused
    one, and to renew it before a stream opens with it."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return float(claims["exp"])


class Stream:
    """One user's live event stream, followed as a client of the API should: opened once
    without `Last-Event-ID` (it starts at the feed's end, given as an id-only block), then,
    whenever it ends or breaks, opened again after the server's `retry` with the last id
    received, so that the service replays what was missed. Its events rebuild the user's
    tasks (id -> version), to be compared with the list the service gives."""

    def __init__(self, client: httpx.AsyncClient, load: Load, user: User) -> None:
        self.client = client
        self.load = load
        self.user = user
        self.last_id: str | None = None
        self.tasks: dict[int, int] = {}  # rebuilt from the events: id -> version
        # The highest version each task reached on the stream, deleted ones included: an
        # acknowledged write was delivered when its task reached at least its version here.
        self.seen: dict[int, int] = {}
        self.retry_seconds = 1.0

    def delivered(self, task_id: int, version: int) -> bool:
        return self.seen.get(task_id, 0) >= version

    async def follow(self) -> None:
        """Hold the stream open until cancelled; returns only when the service refuses to
        resume it (a 400 or 410 for the last id: counted as a failed request)."""
        refused = False
        opened = False
        while True:
            if opened:
                self.load.tally.reconnects += 1
            opened = True
            user = self.user
            if refused or _expires_at(user.token) - time.time() < STREAM_TOKEN_MARGIN_SECONDS:
                await self.load.renew_token(user, now=True)
            token = user.token
            headers = {"Authorization": f"Bearer {token}"}
            if self.last_id is not None:
                headers["Last-Event-ID"] = self.last_id
            pause = self.retry_seconds
            started = time.monotonic()
            try:
                async with self.client.stream(
                    "GET", f"/api/{user.id}/events", headers=headers
                ) as response:
                    status = response.status_code
                    refused = status == 401
                    if status == 200:
                        await self.read(response.aiter_lines())
                        expired = _expires_at(token) <= time.time()
                        why = "ended, its token expired" if expired else "ended by the service"
                    elif status in (401, 429, 502, 503):
                        why = f"answered {status}"
                        pause = float(response.headers.get("retry-after", pause))
                    else:
                        self.load.tally.failed += 1
                        self.load.tally.reasons[f"GET /api/{{user}}/events, failed: {status}"] += 1
                        log(f"stream of {user.email}: {status} {(await response.aread())!r}")
                        return
            except httpx.HTTPError as error:
                why = f"broke: {type(error).__name__}"
            self.load.tally.reasons[f"stream {why}"] += 1
            log(f"stream of {user.email} {why} after {time.monotonic() - started:.0f}s")
            await asyncio.sleep(pause)

    async def read(self, lines: AsyncIterator[str]) -> None:
        """Dispatch each complete block (its fields up to a blank line), as an SSE reader
        does: a block cut off by a break is dropped, its id with it, so that the resumption
        starts after the last change applied. (The service writes one `data` line a block.)"""
        block: dict[str, str] = {}
        async for line in lines:
            if line.startswith(":"):
                continue  # a keep-alive
            if line:
                name, _, value = line.partition(":")
                block[name] = value.removeprefix(" ")
                continue
            if "retry" in block:
                self.retry_seconds = int(block["retry"]) / 1000
            if block.get("event") == "change" and "data" in block:
                self.apply(json.loads(block["data"]))
            if "id" in block:
                self.last_id = block["id"]
            block = {}

    def apply(self, change: dict[str, Any]) -> None:
        task_id, version = change["id"], change["version"]
        if version <= self.seen.get(task_id, 0):
            self.load.tally.reasons["stream: a version received again, or after a newer one"] += 1
        self.seen[task_id] = max(version, self.seen.get(task_id, 0))
        if change["op"] == "delete":
            self.tasks.pop(task_id, None)
        else:
            self.tasks[task_id] = version
        self.load.tally.events += 1


async def undelivered(streams: dict[str, Stream], changes: list[tuple[User, int, int]]) -> int:
    """The acknowledged writes the streams have not delivered (at their version, or a later
    one) once they caught up, or after STREAM_CATCH_UP_SECONDS."""
    deadline = time.monotonic() + STREAM_CATCH_UP_SECONDS
    while True:
        missing = sum(1 for u, t, v in changes if not streams[u.id].delivered(t, v))
        if missing == 0 or time.monotonic() > deadline:
            return missing
        await asyncio.sleep(0.5)


async def diverging(load: Load, streams: dict[str, Stream]) -> int:
    """Tasks whose version as rebuilt from the stream is not the service's (or that only one
    of the two has), once the streams agree with the lists, or after STREAM_CATCH_UP_SECONDS."""
    listed = {}
    for user in load.users:
        listed[user.id] = {task["id"]: task["version"] for task in await load.list_all(user)}
    deadline = time.monotonic() + STREAM_CATCH_UP_SECONDS
    while True:
        differ = 0
        for user_id, tasks in listed.items():
            rebuilt = streams[user_id].tasks
            differ += sum(tasks.get(t) != rebuilt.get(t) for t in tasks.keys() | rebuilt.keys())
        if differ == 0 or time.monotonic() > deadline:
            return differ
        await asyncio.sleep(0.5)


# --- the steps ----------------------------------------------------------------------------


@dataclass
class Outcome:
    name: str
    seconds: float = 0.0
    sent: int = 0
    first_errors: int = 0
    retried: int = 0
    failed: int = 0
    written: int = 0
    lost: int = 0
    duplicated: int = 0
    events: int = 0
    reconnects: int = 0
    missed: int = 0
    nodes: dict[str, list[str]] = field(default_factory=dict)
    reasons: collections.Counter[str] = field(default_factory=collections.Counter)
    error: str = ""


async def in_thread(action: Callable[[], object]) -> None:
    await asyncio.to_thread(action)


def steps(cluster: Cluster) -> Iterator[tuple[str, Callable[[], Awaitable[None]]]]:
    manager = cluster.manager

    def scale(replicas: int) -> Callable[[], Awaitable[None]]:
        return lambda: in_thread(
            lambda: run(
                "service",
                "scale",
                "--detach=false",
                f"{STACK}_tasks={replicas}",
                f"{STACK}_auth={replicas}",
                host=manager,
            )
        )

    def roll(service: str) -> Callable[[], Awaitable[None]]:
        def update() -> None:
            name = f"{STACK}_{service}"
            run(
                "service",
                "update",
                "--detach=false",
                "--image",
                ROLLED[service],
                name,
                host=manager,
            )
            image = run("service", "inspect", "-f", "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
                        name, host=manager)  # fmt: skip
            if not image.startswith(ROLLED[service]):
                raise RuntimeError(f"{name} runs {image} after the update: it was rolled back")

        return lambda: in_thread(update)

    async def drain() -> None:
        node = next(n for n in cluster.tasks_by_node("tasks") if n != MANAGER)
        await in_thread(
            lambda: run("node", "update", "--availability", "drain", node, host=manager)
        )
        await in_thread(
            lambda: wait_until(
                lambda: (
                    node not in cluster.tasks_by_node("tasks") + cluster.tasks_by_node("auth")
                    and cluster.converged()
                ),
                "the drain",
                CONVERGE_TIMEOUT_SECONDS,
            )
        )
        await in_thread(
            lambda: run("node", "update", "--availability", "active", node, host=manager)
        )

    async def kill() -> None:
        # Several rounds: a kill fails a request only when one is in flight on that replica
        # (nginx never resends a POST), so one round alone rarely meets the retry path.
        for round_ in range(KILL_ROUNDS):
            if round_:
                await in_thread(
                    lambda: wait_until(cluster.converged, "convergence", CONVERGE_TIMEOUT_SECONDS)
                )
            for service in ("tasks", "auth"):
                nodes = cluster.tasks_by_node(service)
                if len(nodes) < 2:
                    raise RuntimeError(f"{service} has {len(nodes)} running replica(s), not 2")
                node = next(n for n in nodes if n != MANAGER)
                host = cluster.host(node)
                label = f"label=com.docker.swarm.service.name={STACK}_{service}"
                container = run("ps", "-q", "--filter", label, host=host).split()[0]
                await in_thread(partial(run, "kill", container, host=host))
            await asyncio.sleep(3)

    async def steady() -> None:
        await asyncio.sleep(15)

    yield "steady, 2 replicas each", steady
    yield "scale tasks+auth to 3", scale(3)
    yield "scale tasks+auth to 2", scale(2)
    yield "roll tasks (start-first)", roll("tasks")
    yield "roll auth (start-first)", roll("auth")
    yield "drain a worker", drain
    yield f"kill a tasks and an auth replica x{KILL_ROUNDS}", kill


async def exercise(cluster: Cluster) -> list[Outcome]:
    limits = httpx.Limits(max_connections=CLIENTS * 2)
    # The streams have a client of their own: each holds a connection for as long as it lasts.
    stream_timeout = httpx.Timeout(REQUEST_TIMEOUT_SECONDS, read=STREAM_READ_TIMEOUT_SECONDS)
    async with (
        httpx.AsyncClient(
            base_url=BASE_URL, timeout=REQUEST_TIMEOUT_SECONDS, limits=limits
        ) as client,
        httpx.AsyncClient(base_url=BASE_URL, timeout=stream_timeout) as stream_client,
    ):
        users = await sign_up(client, 4)
        refused = await until_serving(client, users)
        log(f"tokens of both issuers accepted; {refused} refused on the way")
        load = Load(client, users)
        streams = {user.id: Stream(stream_client, load, user) for user in users}
        followers = [asyncio.create_task(stream.follow()) for stream in streams.values()]
        # Every write must reach a stream that was open before it: start when each has its
        # starting position.
        deadline = time.monotonic() + 60
        while any(stream.last_id is None for stream in streams.values()):
            if time.monotonic() > deadline or any(f.done() for f in followers):
                raise RuntimeError("the event streams did not open")
            await asyncio.sleep(0.2)
        since = time.monotonic()

        async def close(name: str, error: str = "") -> Outcome:
            """The figures since the last close, its writes checked; what happens from here on
            (these checks take a while, under load) counts in the next one."""
            nonlocal since
            tally, load.tally = load.tally, Tally()
            seconds, since = time.monotonic() - since, time.monotonic()
            lost = await load.lost(tally.written)
            missed = await undelivered(streams, tally.changes)
            outcome = Outcome(
                name=name,
                seconds=seconds,
                sent=tally.sent,
                first_errors=tally.first_errors,
                retried=tally.retried,
                failed=tally.failed,
                written=len(tally.written),
                lost=lost,
                events=tally.events,
                reconnects=tally.reconnects,
                missed=missed,
                nodes={s: cluster.tasks_by_node(s) for s in ("auth", "tasks")},
                reasons=tally.reasons,
                error=error,
            )
            log(
                f"  sent {outcome.sent}, first-attempt errors {outcome.first_errors}, "
                f"failed {outcome.failed}, lost {lost}, stream events {outcome.events}, "
                f"reconnects {outcome.reconnects}, missed {missed} {error}"
            )
            return outcome

        clients = [asyncio.create_task(load.client_loop(n)) for n in range(CLIENTS)]
        outcomes = []
        try:
            for name, action in steps(cluster):
                log(f"step: {name}")
                error = ""
                try:
                    await action()
                    # Keep the load on until the cluster has settled, and a little longer.
                    await in_thread(
                        lambda: wait_until(
                            cluster.converged, "convergence", CONVERGE_TIMEOUT_SECONDS
                        )
                    )
                    await asyncio.sleep(5)
                except Exception as exc:  # reported with the figures
                    error = f"{type(exc).__name__}: {exc}"
                outcomes.append(await close(name, error))
                if error:
                    break
        finally:
            load.stopping = True
            await asyncio.gather(*clients, return_exceptions=True)
        outcomes.append(await close("the last checks, until the load stops"))
        acknowledged, missing, duplicated = await load.audit()
        diverged = await diverging(load, streams)
        for follower in followers:
            if follower.done():
                follower.result()  # a stream that stopped by a bug: raise it here
            follower.cancel()
        await asyncio.gather(*followers, return_exceptions=True)
        tally = load.tally
        outcomes.append(
            Outcome(
                name="every user's tasks, listed at the end",
                sent=tally.sent,
                failed=tally.failed,
                written=acknowledged,
                lost=missing,
                duplicated=duplicated,
                events=tally.events,
                reconnects=tally.reconnects,
                missed=diverged,
                reasons=tally.reasons,
            )
        )
    return outcomes


def report(outcomes: list[Outcome]) -> bool:
    print(
        f"\n{'step':38} {'seconds':>7} {'sent':>6} {'1st err':>7} {'failed':>6} {'writes':>6}"
        f" {'lost':>4} {'dup':>3} {'events':>6} {'reconn':>6} {'missed':>6}"
        "  nodes of auth / tasks"
    )
    ok = True
    for o in outcomes:
        spread = " / ".join(
            ",".join(n.removeprefix(f"{PREFIX}-") for n in nodes) for nodes in o.nodes.values()
        )
        print(
            f"{o.name:38} {o.seconds:>7.0f} {o.sent:>6} {o.first_errors:>7} {o.failed:>6}"
            f" {o.written:>6} {o.lost:>4} {o.duplicated:>3} {o.events:>6} {o.reconnects:>6}"
            f" {o.missed:>6}  {spread}"
        )
        for reason, count in o.reasons.most_common(10):
            print(f"    {count} x {reason}")
        if o.retried:
            print(f"    {o.retried} request(s) sent a second time")
        if o.error:
            print(f"    step failed: {o.error}")
        ok = ok and not o.error and o.failed == 0 and o.lost == 0 and o.duplicated == 0
        ok = ok and o.missed == 0
        ok = ok and all(len(set(nodes)) > 1 for nodes in o.nodes.values())
    verdict = (
        "PASS (0 failed, 0 lost, 0 duplicated, 0 missed by the streams, replicas on several nodes)"
    )
    print("\nresult:", verdict if ok else "FAIL")
    return ok


def build_images() -> tuple[str, str]:
    """The service images from this checkout, a rolled variant of each, and the node image."""
    python_image = os.environ.get("PYTHON_IMAGE", "python:3.12-slim")
    for service, tag in IMAGE.items():
        log(f"building {tag}")
        subprocess.run(
            [
                "docker",
                "build",
                "-q",
                "-f",
                "docker/service.Dockerfile",
                "--build-arg",
                f"SERVICE={service}",
                "--build-arg",
                f"PYTHON_IMAGE={python_image}",
                "-t",
                tag,
                ".",
            ],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        # The same program under a new image id: what a release looks like to swarm.
        run(
            "build",
            "-q",
            "-t",
            ROLLED[service],
            "-",
            stdin=f"FROM {tag}\nLABEL org.todo.swarm-test=rolled\n",
        )
    log(f"building {FRONTEND_IMAGE}")
    subprocess.run(
        [
            "docker",
            "build",
            "-q",
            "-f",
            "docker/frontend.Dockerfile",
            "--build-arg",
            f"NODE_IMAGE={os.environ.get('NODE_IMAGE', 'node:22-bookworm-slim')}",
            "-t",
            FRONTEND_IMAGE,
            ".",
        ],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    node_image = f"{PREFIX}-node:local"
    log(f"building {node_image}")
    run(
        "build",
        "-q",
        "--build-arg",
        f"BASE_IMAGE={python_image}",
        "-t",
        node_image,
        str(ROOT / "deploy" / "swarm" / "test-node"),
    )
    return node_image, python_image


def deploy(cluster: Cluster) -> None:
    environment = os.environ | {
        "DOCKER_HOST": cluster.manager,
        "AUTH_IMAGE": IMAGE["auth"],
        "TASKS_IMAGE": IMAGE["tasks"],
        "FRONTEND_IMAGE": FRONTEND_IMAGE,
        "PROXY_PORT": "8080",
        # The origin the load uses (Better Auth checks it; its tokens' iss is PUBLIC_URL/auth).
        "PUBLIC_URL": BASE_URL,
        # The load signs up and logs in from one address; cheap hashes on two shared cores.
        "SIGNUP_IP_LIMIT": "0",
        "SIGNUP_EMAIL_LIMIT": "0",
        "LOGIN_IP_LIMIT": "0",
        "LOGIN_EMAIL_LIMIT": "0",
        "BCRYPT_ROUNDS": "4",
        "ACCESS_TOKEN_TTL_SECONDS": str(ACCESS_TOKEN_TTL_SECONDS),
        "WEB_CONCURRENCY": "1",
    }
    subprocess.run(
        ["bash", str(ROOT / "deploy" / "swarm" / "deploy.sh"), STACK], env=environment, check=True
    )


def main() -> int:
    node_image, _ = build_images()
    sockets = Path(tempfile.mkdtemp(prefix="todo-swarm-"))
    cluster = Cluster(sockets)
    keep = os.environ.get("SWARM_TEST_KEEP") == "1"
    try:
        log("starting three engines")
        cluster.start(node_image)
        defaults = {"POSTGRES": "postgres:17", "REDIS": "redis:7", "NGINX": "nginx:1.27"}
        base_images = [os.environ.get(f"{name}_IMAGE", image) for name, image in defaults.items()]
        services = [*IMAGE.values(), *ROLLED.values(), FRONTEND_IMAGE]
        started = time.monotonic()
        cluster.distribute([*base_images, *services], services)
        log(f"images distributed in {time.monotonic() - started:.0f}s")
        deploy(cluster)
        outcomes = asyncio.run(exercise(cluster))
        ok = report(outcomes)
    except (RuntimeError, subprocess.CalledProcessError):
        cluster.diagnose()
        raise
    else:
        if not ok:
            cluster.diagnose()
        return 0 if ok else 1
    finally:
        if keep:
            log(f"cluster kept: DOCKER_HOST={cluster.manager}")
        else:
            cluster.remove()
            shutil.rmtree(sockets, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

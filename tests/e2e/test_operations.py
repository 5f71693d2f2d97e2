"""The stack under operations: replicas, key rotation, restarts and outages of its dependencies.

Each test leaves the stack healthy (dependencies started again) for the next one.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from typing import Any

import httpx
import jwt
import pytest

from tests.e2e.stack import PASSWORD, Stack, wait_until

REPLICAS = 2


@pytest.fixture(scope="module")
def scaled(stack: Stack) -> Stack:
    """Two replicas of each service behind the proxy, for the rest of the module."""
    stack.scale = {"auth": REPLICAS, "tasks": REPLICAS}
    stack.up("--no-recreate")
    return stack


def _kid(token: str) -> str:
    kid: str = jwt.get_unverified_header(token)["kid"]
    return kid


def _accepted(stack: Stack, path: str, token: str) -> bool:
    response = stack.client.get(path, headers={"Authorization": f"Bearer {token}"})
    return response.status_code == 200


def _published_kids(stack: Stack, replica: int) -> set[str]:
    status, jwks = stack.call_replica("auth", replica, "GET", "/api/auth/jwks")
    assert status == 200
    return {key["kid"] for key in jwks["keys"]}


def test_a_logout_is_honoured_by_every_tasks_replica_even_for_a_remembered_token(
    scaled: Stack,
) -> None:
    """Each tasks replica verified (and so remembered) the token before the logout; after it,
    each refuses it, and a refresh of the session too."""
    user = scaled.new_user()
    login = scaled.client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    tokens = login.json()
    for replica in range(1, REPLICAS + 1):
        status, _ = scaled.call_replica(
            "tasks", replica, "GET", user.tasks_path, token=tokens["access_token"]
        )
        assert status == 200

    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert scaled.client.post("/api/auth/logout", headers=bearer).status_code == 204

    for replica in range(1, REPLICAS + 1):

        def refused(replica: int = replica) -> bool:
            status, _ = scaled.call_replica(
                "tasks", replica, "GET", user.tasks_path, token=tokens["access_token"]
            )
            return status == 401

        wait_until(refused, timeout=5, what=f"tasks replica {replica} refusing the token")
    refresh = scaled.client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refresh.status_code == 401


def test_replicas_share_the_traffic_and_the_keys(scaled: Stack) -> None:
    assert len(scaled.container_ids("auth")) == REPLICAS
    assert len(scaled.container_ids("tasks")) == REPLICAS

    # Every auth replica publishes the same keys ...
    jwks = [scaled.call_replica("auth", replica, "GET", "/api/auth/jwks") for replica in (1, 2)]
    assert jwks[0] == jwks[1]
    assert jwks[0][0] == 200

    # ... and a token issued by either auth replica is accepted by either tasks replica.
    user = scaled.new_user()
    credentials = {"email": user.email, "password": PASSWORD}
    for auth_replica in (1, 2):
        status, token = scaled.call_replica(
            "auth", auth_replica, "POST", "/api/auth/login", body=credentials
        )
        assert status == 200
        for tasks_replica in (1, 2):
            status, tasks = scaled.call_replica(
                "tasks", tasks_replica, "GET", user.tasks_path, token=token["access_token"]
            )
            assert (status, tasks) == (200, [])

    # Through the proxy, every request succeeds and both replicas of each service answer.
    trace = f"e2e-scale-{uuid.uuid4().hex[:8]}"
    statuses: Counter[int] = Counter()
    for i in range(100):
        headers = {**user.headers, "X-Request-ID": f"{trace}-{i}"}
        if i % 4 == 0:
            response = scaled.client.post(
                "/api/auth/login", json=credentials, headers={"X-Request-ID": f"{trace}-{i}"}
            )
        elif i % 4 == 1:
            response = scaled.client.post(user.tasks_path, json={"title": f"#{i}"}, headers=headers)
        else:
            response = scaled.client.get(user.tasks_path, headers=headers)
        statuses[response.status_code] += 1
    assert all(200 <= status < 300 for status in statuses), statuses
    listed = scaled.client.get(user.tasks_path, headers=user.headers)
    assert listed.headers["X-Total-Count"] == "25"

    upstreams: dict[str, set[str]] = {"auth": set(), "tasks": set()}
    for line in scaled.proxy_log(until=f"request_id={trace}-99").splitlines():
        if trace in line:
            service = "auth" if "/api/auth/" in line else "tasks"
            upstreams[service].add(line.split("upstream=")[1].split()[0])
    assert len(upstreams["auth"]) == REPLICAS, upstreams
    assert len(upstreams["tasks"]) == REPLICAS, upstreams


def test_a_create_whose_answer_was_lost_is_retried_safely(scaled: Stack) -> None:
    """A replica killed after committing a POST leaves its client with a 502 and no way to
    tell; the proxy never resends a POST. The client's retry with the same `Idempotency-Key`,
    on whichever replica, answers the task that was created and creates no other."""
    user = scaled.new_user()
    key = {"Idempotency-Key": f"e2e-{uuid.uuid4()}"}
    body = {"title": "Buy milk"}
    status, lost = scaled.call_replica(
        "tasks", 1, "POST", user.tasks_path, token=user.token, body=body, headers=key
    )
    assert status == 201
    headers = {**user.headers, **key}
    for _ in range(2 * REPLICAS):  # round robin: every replica answers a retry
        retry = scaled.client.post(user.tasks_path, json=body, headers=headers)
        assert retry.status_code == 201, retry.text
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert retry.headers["Location"] == f"{user.tasks_path}/{lost['id']}"
        assert retry.json() == lost
    reused = scaled.client.post(user.tasks_path, json={"title": "Buy bread"}, headers=headers)
    assert reused.status_code == 409
    bad = scaled.client.post(
        user.tasks_path, json=body, headers={**user.headers, "Idempotency-Key": "k" * 256}
    )
    assert bad.status_code == 400
    listed = scaled.client.get(user.tasks_path, headers=user.headers)
    assert (listed.headers["X-Total-Count"], listed.json()) == ("1", [lost])


def _proxy_upstreams(stack: Stack, trace: str) -> set[str]:
    """The replica addresses the proxy's access log shows for requests tagged `trace`."""
    log = stack.run("logs", "--no-log-prefix", "proxy")
    return {line.split("upstream=")[1].split()[0] for line in log.splitlines() if trace in line}


def test_tasks_scale_down_and_up_under_reads_without_a_proxy_restart(scaled: Stack) -> None:
    """The proxy keeps connections to the replicas open and learns of them from DNS: scaling
    tasks 2 -> 1 -> 2 while reads stream through it fails none, and the new replica gets
    requests, with the proxy never restarted.

    Each change of the replica set reloads nginx, whose old workers close their idle client
    connections: a read sent on one at that instant finds it closed without a response, and
    is sent again on a new connection, as RFC 9112 (9.3.1) lets a client do for an idempotent
    request and browsers do. That second try must succeed like every other read.
    """
    user = scaled.new_user()
    proxy_started = scaled.started_at("proxy")
    statuses: Counter[int | str] = Counter()
    stop = threading.Event()

    def read() -> None:
        with httpx.Client(base_url=scaled.client.base_url, timeout=30) as client:
            while not stop.is_set():
                try:
                    try:
                        response = client.get(user.tasks_path, headers=user.headers)
                    except httpx.RemoteProtocolError:  # closed by a reloading worker
                        statuses["resent"] += 1
                        response = client.get(user.tasks_path, headers=user.headers)
                    statuses[response.status_code] += 1
                except httpx.TransportError as error:
                    statuses[type(error).__name__] += 1

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for count in (1, REPLICAS):
            scaled.scale = {**scaled.scale, "tasks": count}
            scaled.up("--no-recreate")
    finally:
        stop.set()
        reader.join()
    assert statuses[200] > 0, statuses
    assert set(statuses) - {"resent"} == {200}, statuses
    assert len(scaled.container_ids("tasks")) == REPLICAS
    assert scaled.started_at("proxy") == proxy_started

    trace = f"e2e-rescale-{uuid.uuid4().hex[:8]}"

    def both_replicas_answer() -> bool:
        for i in range(10):
            headers = {**user.headers, "X-Request-ID": f"{trace}-{i}"}
            assert scaled.client.get(user.tasks_path, headers=headers).status_code == 200
        return len(_proxy_upstreams(scaled, trace)) == REPLICAS

    wait_until(both_replicas_answer, 30, "the proxy to send requests to the new replica")


def test_key_rotation_keeps_issued_tokens_valid(scaled: Stack) -> None:
    client = scaled.client
    user = scaled.new_user()
    old_kid = _kid(user.token)

    scaled.run("exec", "-T", "auth", "todo-auth", "rotate-keys", timeout=60)

    # Each replica re-reads the keys within KEY_CACHE_SECONDS: then both publish the old and
    # the new key, and sign with the new one.
    def both_keys_published() -> set[str] | None:
        published = [_published_kids(scaled, replica) for replica in (1, 2)]
        agreed = published[0] == published[1] and len(published[0]) == 2
        return published[0] if agreed else None

    published = wait_until(both_keys_published, 30, "both auth replicas publishing two keys")
    assert old_kid in published  # the retired key stays published for its tokens
    (new_kid,) = published - {old_kid}

    def signed_with_new_key() -> list[str] | None:
        tokens = [scaled.login(user.email) for _ in range(4)]
        return tokens if {_kid(token) for token in tokens} == {new_kid} else None

    # The new key signs after KEY_ACTIVATION_DELAY_SECONDS (3 s here), and each worker of each
    # replica keeps its keys for KEY_CACHE_SECONDS (5 s) before re-reading.
    new_tokens = wait_until(signed_with_new_key, 30, "logins signed with the rotated key")

    # The token issued before the rotation still works, and the new ones do at once: the
    # tasks service refetches the JWKS when it meets the new kid, and every auth replica
    # answers that fetch from the database, never from a cache that predates the rotation.
    assert client.get(user.tasks_path, headers=user.headers).status_code == 200
    assert [_accepted(scaled, user.tasks_path, token) for token in new_tokens] == [True] * 4
    assert client.get(user.tasks_path, headers=user.headers).status_code == 200


def test_tasks_verify_tokens_from_a_restarted_auth_service(scaled: Stack) -> None:
    user = scaled.new_user()
    tasks_started = scaled.started_at("tasks")

    scaled.run("restart", "auth", timeout=120)
    scaled.wait_healthy("auth", REPLICAS)
    scaled.wait_ready("auth")

    token = wait_until(lambda: scaled.login(user.email), 30, "a login after the restart")
    # Keys live in the auth database, so the restarted service signs with a kid the tasks
    # service already knows.
    assert _accepted(scaled, user.tasks_path, token)
    assert scaled.client.get(user.tasks_path, headers=user.headers).status_code == 200
    assert scaled.started_at("tasks") == tasks_started  # no tasks replica was restarted


def test_both_services_answer_503_while_postgres_is_down_and_recover(scaled: Stack) -> None:
    client = scaled.client
    user = scaled.new_user()
    task = client.post(user.tasks_path, json={"title": "survives"}, headers=user.headers).json()
    credentials = {"email": user.email, "password": PASSWORD}

    scaled.run("stop", "postgres", timeout=120)
    try:
        for service in ("auth", "tasks"):
            for replica in (1, 2):
                status, _ = scaled.call_replica(service, replica, "GET", "/readyz")
                assert status == 503, (service, replica)
        outage: list[httpx.Response] = [
            client.post("/api/auth/login", json=credentials),
            client.post(
                "/api/auth/signup",
                json={"email": f"e2e-{uuid.uuid4().hex[:12]}@example.com", "password": PASSWORD},
            ),
            client.get(user.tasks_path, headers=user.headers),
            client.post(user.tasks_path, json={"title": "lost?"}, headers=user.headers),
        ]
        for response in outage:
            assert response.status_code == 503, (response.request.url, response.text)
            assert int(response.headers["Retry-After"]) > 0
    finally:
        scaled.run("start", "postgres", timeout=120)

    def tasks_back() -> Any:
        response = client.get(user.tasks_path, headers=user.headers)
        return response.json() if response.status_code == 200 else None

    assert wait_until(tasks_back, 90, "the tasks service recovering") == [task]
    wait_until(lambda: scaled.login(user.email), 60, "the auth service recovering")
    for service in ("auth", "tasks"):
        scaled.wait_ready(service)

    # Recovered means every worker: none answers from a connection the outage broke.
    after: Counter[int] = Counter()
    for _ in range(6):
        after[client.post("/api/auth/login", json=credentials).status_code] += 1
        after[client.get(user.tasks_path, headers=user.headers).status_code] += 1
        created = client.post(user.tasks_path, json={"title": "after"}, headers=user.headers)
        after[created.status_code] += 1
    assert after == {200: 12, 201: 6}, after


def test_task_reads_keep_working_while_redis_is_down(scaled: Stack) -> None:
    client = scaled.client
    user = scaled.new_user()
    task = client.post(user.tasks_path, json={"title": "cached keys"}, headers=user.headers).json()

    scaled.run("stop", "redis", timeout=120)
    try:
        for _ in range(10):  # enough to reach every replica and worker
            listed = client.get(user.tasks_path, headers=user.headers)
            assert listed.status_code == 200
            assert listed.json() == [task]
            fetched = client.get(f"{user.tasks_path}/{task['id']}", headers=user.headers)
            assert fetched.json() == task
    finally:
        scaled.run("start", "redis", timeout=120)
    scaled.wait_healthy("redis")

"""A user's whole journey and the isolation between users, through the proxy, one replica each."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import jwt

from tests.e2e.stack import PASSWORD, Stack, wait_until


def test_a_users_whole_journey(stack: Stack) -> None:
    client = stack.client
    user = stack.new_user()
    claims = jwt.decode(user.token, options={"verify_signature": False})
    assert claims["sub"] == user.id
    assert claims["email"] == user.email
    assert jwt.get_unverified_header(user.token)["alg"] == "EdDSA"

    created = client.post(
        user.tasks_path,
        json={"title": "Buy milk", "description": "two litres"},
        headers=user.headers,
    )
    assert created.status_code == 201, created.text
    task = created.json()
    assert task["title"] == "Buy milk"
    assert task["completed"] is False
    assert task["user_id"] == user.id
    task_path = f"{user.tasks_path}/{task['id']}"
    assert created.headers["Location"].endswith(task_path)

    listed = client.get(user.tasks_path, headers=user.headers)
    assert listed.status_code == 200
    assert listed.headers["X-Total-Count"] == "1"
    assert [t["id"] for t in listed.json()] == [task["id"]]

    fetched = client.get(task_path, headers=user.headers)
    assert fetched.status_code == 200
    assert fetched.json() == task

    replaced = client.put(
        task_path, json={"title": "Buy oat milk", "description": None}, headers=user.headers
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["title"] == "Buy oat milk"
    assert replaced.json()["description"] is None

    patched = client.patch(task_path, json={"description": "the barista one"}, headers=user.headers)
    assert patched.status_code == 200, patched.text
    assert patched.json()["title"] == "Buy oat milk"
    assert patched.json()["description"] == "the barista one"
    bumped = datetime.fromisoformat(patched.json()["updated_at"])
    assert bumped > datetime.fromisoformat(task["updated_at"])

    toggled = client.patch(f"{task_path}/complete", headers=user.headers)
    assert toggled.status_code == 200
    assert toggled.json()["completed"] is True
    toggled_back = client.patch(f"{task_path}/complete", headers=user.headers)
    assert toggled_back.json()["completed"] is False
    completed = client.patch(
        f"{task_path}/complete", json={"completed": True}, headers=user.headers
    )
    assert completed.json()["completed"] is True
    done = client.get(user.tasks_path, params={"completed": "true"}, headers=user.headers)
    assert [t["id"] for t in done.json()] == [task["id"]]

    deleted = client.delete(task_path, headers=user.headers)
    assert deleted.status_code == 204
    gone = client.get(task_path, headers=user.headers)
    assert gone.status_code == 404
    assert gone.json() == {"detail": "not found"}
    assert client.get(user.tasks_path, headers=user.headers).json() == []

    # Nothing of the user's secrets reached a log line of any container on the way.
    last = f"e2e-secrets-{uuid.uuid4().hex[:8]}"
    wrong = client.post(
        "/api/auth/login",
        json={"email": user.email, "password": "wrong pass"},
        headers={"X-Request-ID": last},
    )
    assert wrong.status_code == 401
    stack.proxy_log(until=last)  # every line of this test's requests is written
    logs = stack.run("logs", "--no-log-prefix", "auth", "tasks", "proxy")
    assert '"path": "/api/auth/login", "status": 401' in logs  # the lines are there to read
    for secret in (PASSWORD, "wrong pass", user.token, user.token.split(".")[2], "$2b$"):
        assert secret not in logs


def test_two_users_see_only_their_own_tasks(stack: Stack) -> None:
    client = stack.client
    alice, bob = stack.new_user(), stack.new_user()
    task = client.post(alice.tasks_path, json={"title": "Alice's"}, headers=alice.headers).json()
    alice_task_path = f"{alice.tasks_path}/{task['id']}"
    bobs_view_of_it = f"{bob.tasks_path}/{task['id']}"

    # Bob on Alice's paths: forbidden, whatever the method.
    assert client.get(alice.tasks_path, headers=bob.headers).status_code == 403
    assert client.get(alice_task_path, headers=bob.headers).status_code == 403
    assert client.delete(alice_task_path, headers=bob.headers).status_code == 403
    # Bob naming Alice's task under his own id: indistinguishable from a missing task.
    assert client.get(bobs_view_of_it, headers=bob.headers).status_code == 404
    renamed = client.patch(bobs_view_of_it, json={"title": "x"}, headers=bob.headers)
    assert renamed.status_code == 404
    assert client.delete(bobs_view_of_it, headers=bob.headers).status_code == 404
    assert client.get(bob.tasks_path, headers=bob.headers).json() == []

    # Nothing Bob tried changed Alice's task.
    assert client.get(alice_task_path, headers=alice.headers).json() == task
    assert client.get(alice.tasks_path, headers=alice.headers).headers["X-Total-Count"] == "1"


def test_requests_without_a_valid_token_are_refused(stack: Stack) -> None:
    user = stack.new_user()
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": user.token}):
        response = stack.client.get(user.tasks_path, headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json() == {"detail": "invalid token"}


def test_the_proxy_routes_caps_bodies_and_forwards_client_details(stack: Stack) -> None:
    client = stack.client
    for path in ("/api/auth/jwks", "/.well-known/jwks.json"):
        jwks = client.get(path)
        assert jwks.status_code == 200
        assert jwks.json()["keys"]
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")

    user = stack.new_user()
    oversized = json.dumps({"title": "x" * (1024 * 1024 + 1)})
    too_large = client.post(
        user.tasks_path,
        content=oversized,
        headers={**user.headers, "Content-Type": "application/json"},
    )
    assert too_large.status_code == 413
    assert too_large.json() == {"detail": "request body too large"}
    assert client.get(user.tasks_path, headers=user.headers).headers["X-Total-Count"] == "0"

    # A client's request id is carried to the service and back; a malformed one is replaced.
    request_id = "e2e-trace-0001"
    forged_ip = "203.0.113.9"  # a client claiming to be someone else
    traced = client.get(
        user.tasks_path,
        headers={**user.headers, "X-Request-ID": request_id, "X-Forwarded-For": forged_ip},
    )
    assert traced.headers["X-Request-ID"] == request_id
    replaced = client.get(user.tasks_path, headers={**user.headers, "X-Request-ID": "bad id!"})
    assert replaced.headers["X-Request-ID"] not in ("", "bad id!")

    # The service believes the proxy's X-Forwarded-For: it logs the address nginx saw (the
    # client's), neither the proxy's own nor the one the client forged.
    def logged(service: str) -> dict[str, str] | None:
        for line in stack.run("logs", "--no-log-prefix", service).splitlines():
            if request_id in line and line.startswith("{"):
                entry: dict[str, str] = json.loads(line)
                if entry.get("msg") == "request":
                    return entry
        return None

    entry = wait_until(lambda: logged("tasks"), 10, "the tasks service's access log line")
    proxy_ip = stack.run("exec", "-T", "proxy", "sh", "-c", "hostname -i", timeout=30).split()[0]
    assert entry["client_ip"] not in (proxy_ip, forged_ip)
    proxy_line = next(
        line
        for line in stack.proxy_log(until=f"request_id={request_id}").splitlines()
        if f"request_id={request_id}" in line
    )
    assert proxy_line.split()[0] == entry["client_ip"]


def test_cursor_paging_through_the_proxy(stack: Stack) -> None:
    """The proxy passes `X-Next-Cursor` and `?cursor=` through, and the totals are exact."""
    client = stack.client
    user = stack.new_user()
    for n in range(5):
        made = client.post(
            user.tasks_path, json={"title": f"t{n}", "completed": n % 2 == 0}, headers=user.headers
        )
        assert made.status_code == 201, made.text
    seen: list[str] = []
    params: dict[str, str | int] = {"limit": 2}
    while True:
        page = client.get(user.tasks_path, params=params, headers=user.headers)
        assert page.status_code == 200, page.text
        assert page.headers["X-Total-Count"] == "5"
        seen += [task["title"] for task in page.json()]
        if "X-Next-Cursor" not in page.headers:
            break
        params = {"limit": 2, "cursor": page.headers["X-Next-Cursor"]}
    assert seen == ["t4", "t3", "t2", "t1", "t0"]
    done = client.get(user.tasks_path, params={"completed": "true"}, headers=user.headers)
    assert done.headers["X-Total-Count"] == "3"
    bad = client.get(user.tasks_path, params={"cursor": "nope"}, headers=user.headers)
    assert bad.status_code == 400
    assert bad.json()["detail"][0]["loc"] == ["query", "cursor"]

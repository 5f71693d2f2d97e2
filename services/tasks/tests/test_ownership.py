"""Who may do what, on every endpoint: 401 without a valid token, 403 for another user's path,
404 (indistinguishable from a missing task) for another user's task id, and never a change."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from tests.support.issuer import TestIssuer
from todo_tasks.main import create_tasks_app
from todo_tasks.settings import Settings

Snapshot = Callable[[], Awaitable[list[Any]]]
MISSING_ID = 2**62

# (method, path under /api/{user}/tasks, JSON body): every endpoint of the API table.
ENDPOINTS = [
    ("GET", "", None),
    ("POST", "", {"title": "new"}),
    ("GET", "/{id}", None),
    ("PUT", "/{id}", {"title": "replaced"}),
    ("PATCH", "/{id}", {"title": "patched"}),
    ("PATCH", "/{id}/complete", None),
    ("DELETE", "/{id}", None),
]
TASK_ENDPOINTS = [endpoint for endpoint in ENDPOINTS if "{id}" in endpoint[1]]


def endpoint_id(endpoint: tuple[str, str, Any]) -> str:
    return f"{endpoint[0]} {endpoint[1] or '/'}"


async def call(
    client: httpx.AsyncClient, user: str, endpoint: tuple[str, str, Any], task_id: object
) -> httpx.Response:
    method, path, body = endpoint
    url = f"/api/{user}/tasks" + path.format(id=task_id)
    return await client.request(method, url, json=body)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=endpoint_id)
async def test_no_token_is_401_and_changes_nothing(
    anonymous: httpx.AsyncClient,
    bob: str,
    bob_task: dict[str, Any],
    snapshot: Snapshot,
    endpoint: tuple[str, str, Any],
) -> None:
    before = await snapshot()
    response = await call(anonymous, bob, endpoint, bob_task["id"])
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": "invalid token"}
    assert await snapshot() == before


BODY_ENDPOINTS = [endpoint for endpoint in ENDPOINTS if endpoint[0] in ("POST", "PUT", "PATCH")]


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=endpoint_id)
@pytest.mark.parametrize("body", [b"{", b'{"title": 123}'], ids=["malformed", "invalid"])
async def test_who_is_calling_is_settled_before_the_body(
    anonymous: httpx.AsyncClient,
    as_alice: httpx.AsyncClient,
    bob: str,
    bob_task: dict[str, Any],
    snapshot: Snapshot,
    endpoint: tuple[str, str, Any],
    body: bytes,
) -> None:
    """A bad body changes nothing about 401 and 403: neither depends on what was sent."""
    method, path, _ = endpoint
    url = f"/api/{bob}/tasks" + path.format(id=bob_task["id"])
    headers = {"Content-Type": "application/json"}
    before = await snapshot()
    no_token = await anonymous.request(method, url, content=body, headers=headers)
    not_yours = await as_alice.request(method, url, content=body, headers=headers)
    assert (no_token.status_code, no_token.json()) == (401, {"detail": "invalid token"})
    assert (not_yours.status_code, not_yours.json()) == (403, {"detail": "forbidden"})
    assert await snapshot() == before


def _b64(part: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def _bad_tokens(issuer: TestIssuer, sub: str) -> dict[str, str]:
    now = int(time.time())
    return {
        "garbage": "not-a-jwt",
        "expired": issuer.mint(sub, iat=now - 3600, exp=now - 600),
        "wrong audience": issuer.mint(sub, aud="someone-else"),
        "wrong issuer": issuer.mint(sub, iss="https://evil.example"),
        "foreign key": issuer.mint(sub, key=Ed25519PrivateKey.generate()),
        "no sub": issuer.mint(None),
        "empty sub": issuer.mint(""),  # an invalid token (401), not someone else (403)
        "padded signature": issuer.mint(sub) + "==",
        "alg none": ".".join(
            [_b64({"alg": "none", "kid": issuer.kid}), _b64(issuer.claims(sub)), ""]
        ),
    }


@pytest.mark.parametrize(
    "kind",
    [
        "garbage",
        "expired",
        "wrong audience",
        "wrong issuer",
        "foreign key",
        "no sub",
        "empty sub",
        "padded signature",
        "alg none",
    ],
)
async def test_invalid_tokens_are_401(
    app: FastAPI,
    issuer: TestIssuer,
    client_for: Callable[[FastAPI, str | None], httpx.AsyncClient],
    alice: str,
    kind: str,
) -> None:
    async with client_for(app, _bad_tokens(issuer, alice)[kind]) as client:
        response = await client.get(f"/api/{alice}/tasks")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": "invalid token"}


async def test_other_authorization_schemes_are_401(
    anonymous: httpx.AsyncClient, issuer: TestIssuer, alice: str
) -> None:
    token = issuer.mint(alice)
    response = await anonymous.get(f"/api/{alice}/tasks", headers={"Authorization": token})
    assert response.status_code == 401
    basic = {"Authorization": f"Basic {token}"}
    assert (await anonymous.get(f"/api/{alice}/tasks", headers=basic)).status_code == 401


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=endpoint_id)
@pytest.mark.parametrize("target", ["existing", "missing", "malformed"])
async def test_another_users_path_is_403_whatever_the_task(
    as_alice: httpx.AsyncClient,
    as_bob: httpx.AsyncClient,
    bob: str,
    bob_task: dict[str, Any],
    snapshot: Snapshot,
    endpoint: tuple[str, str, Any],
    target: str,
) -> None:
    """Checked before the task is looked up or the id parsed: nothing can be learnt from it."""
    task_id = {"existing": bob_task["id"], "missing": MISSING_ID, "malformed": "abc"}[target]
    before = await snapshot()
    response = await call(as_alice, bob, endpoint, task_id)
    assert response.status_code == 403
    assert response.json() == {"detail": "forbidden"}
    assert await snapshot() == before
    assert (await as_bob.get(f"/api/{bob}/tasks/{bob_task['id']}")).json() == bob_task


@pytest.mark.parametrize("endpoint", TASK_ENDPOINTS, ids=endpoint_id)
async def test_another_users_task_is_indistinguishable_from_a_missing_one(
    as_alice: httpx.AsyncClient,
    as_bob: httpx.AsyncClient,
    alice: str,
    bob: str,
    bob_task: dict[str, Any],
    snapshot: Snapshot,
    endpoint: tuple[str, str, Any],
) -> None:
    before = await snapshot()
    theirs = await call(as_alice, alice, endpoint, bob_task["id"])
    missing = await call(as_alice, alice, endpoint, MISSING_ID)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json() == {"detail": "not found"}
    assert theirs.headers["content-type"] == missing.headers["content-type"]
    assert await snapshot() == before
    assert (await as_bob.get(f"/api/{bob}/tasks/{bob_task['id']}")).json() == bob_task


async def test_lists_and_counts_only_the_callers_tasks(
    as_alice: httpx.AsyncClient, as_bob: httpx.AsyncClient, alice: str, bob: str
) -> None:
    for title in ("a1", "a2"):
        await as_alice.post(f"/api/{alice}/tasks", json={"title": title})
    for title, completed in (("b1", True), ("b2", False), ("b3", False)):
        await as_bob.post(f"/api/{bob}/tasks", json={"title": title, "completed": completed})
    for query in ("", "?completed=true", "?completed=false"):
        response = await as_alice.get(f"/api/{alice}/tasks{query}")
        assert {task["user_id"] for task in response.json()} <= {alice}
    response = await as_alice.get(f"/api/{alice}/tasks")
    assert [task["title"] for task in response.json()] == ["a2", "a1"]
    assert response.headers["x-total-count"] == "2"
    done = await as_alice.get(f"/api/{alice}/tasks?completed=true")
    assert done.json() == []
    assert done.headers["x-total-count"] == "0"


async def test_the_owner_never_comes_from_the_body(
    as_alice: httpx.AsyncClient,
    as_bob: httpx.AsyncClient,
    alice: str,
    bob: str,
    bob_task: dict[str, Any],
) -> None:
    created = await as_alice.post(f"/api/{alice}/tasks", json={"title": "mine", "user_id": bob})
    assert created.status_code == 201
    assert created.json()["user_id"] == alice
    task_url = f"/api/{alice}/tasks/{created.json()['id']}"
    for method in ("PUT", "PATCH"):
        response = await as_alice.request(method, task_url, json={"title": "x", "user_id": bob})
        assert response.json()["user_id"] == alice
    bobs = await as_bob.get(f"/api/{bob}/tasks")
    assert bobs.json() == [bob_task]


@pytest.fixture
async def better_auth_app(settings: Settings) -> AsyncIterator[tuple[FastAPI, TestIssuer]]:
    """An app trusting an issuer shaped like Better Auth's `jwt` plugin: iss = aud = base URL."""
    with TestIssuer() as issuer:
        issuer.audience = issuer.base_url
        app = create_tasks_app(
            settings.model_copy(
                update={
                    "jwks_url": issuer.jwks_url,
                    "jwt_issuer": issuer.base_url,
                    "jwt_audience": issuer.base_url,
                    "jwks_redis_key": f"{settings.jwks_redis_key}-better-auth",
                }
            )
        )
        async with LifespanManager(app):
            yield app, issuer


async def test_a_better_auth_shaped_token_works(
    better_auth_app: tuple[FastAPI, TestIssuer],
    client_for: Callable[[FastAPI, str | None], httpx.AsyncClient],
) -> None:
    app, issuer = better_auth_app
    sub = "kT9x2QmZp4LwVb7NcR1sYd8Ee3Hf6Ju0"
    token = issuer.mint(
        sub,
        id=sub,
        name="Ada",
        emailVerified=False,
        image=None,
        createdAt="2025-01-01T00:00:00.000Z",
        updatedAt="2025-01-01T00:00:00.000Z",
    )
    async with client_for(app, token) as client:
        created = await client.post(f"/api/{sub}/tasks", json={"title": "from Better Auth"})
        assert created.status_code == 201
        assert created.json()["user_id"] == sub
        listed = await client.get(f"/api/{sub}/tasks")
        assert listed.json() == [created.json()]

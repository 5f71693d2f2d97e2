"""Versions, ETags and conditional writes: If-Match turns a blind overwrite into a 412."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

Snapshot = Callable[[], Awaitable[list[Any]]]


@pytest.fixture
async def task(as_alice: httpx.AsyncClient, alice: str) -> dict[str, Any]:
    response = await as_alice.post(f"/api/{alice}/tasks", json={"title": "Buy milk"})
    assert response.status_code == 201
    assert response.headers["etag"] == '"1"'
    created: dict[str, Any] = response.json()
    return created


def url(task: dict[str, Any]) -> str:
    return f"/api/{task['user_id']}/tasks/{task['id']}"


async def test_every_change_is_one_version_and_every_answer_carries_its_etag(
    as_alice: httpx.AsyncClient, alice: str, task: dict[str, Any]
) -> None:
    assert task["version"] == 1
    answers = [
        await as_alice.patch(url(task), json={"title": "Buy oat milk"}),
        await as_alice.put(url(task), json={"title": "Buy oat milk", "description": "2 l"}),
        await as_alice.patch(f"{url(task)}/complete", json={"completed": True}),
        await as_alice.patch(f"{url(task)}/complete"),
        await as_alice.get(url(task)),
    ]
    assert [a.status_code for a in answers] == [200] * 5
    assert [a.json()["version"] for a in answers] == [2, 3, 4, 5, 5]
    assert [a.headers["etag"] for a in answers] == ['"2"', '"3"', '"4"', '"5"', '"5"']
    listed = (await as_alice.get(f"/api/{alice}/tasks")).json()
    assert [(t["id"], t["version"]) for t in listed] == [(task["id"], 5)]


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("PUT", "", {"title": "mine"}),
        ("PATCH", "", {"title": "mine"}),
        ("PATCH", "/complete", {"completed": True}),
        ("DELETE", "", None),
    ],
)
async def test_a_write_against_another_version_is_a_412_that_changes_nothing(
    as_alice: httpx.AsyncClient,
    task: dict[str, Any],
    snapshot: Snapshot,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    await as_alice.patch(url(task), json={"title": "changed elsewhere"})  # now version 2
    before = await snapshot()
    for stale in ('"1"', 'W/"2"', '"1", "3"', "garbage"):
        refused = await as_alice.request(
            method, url(task) + suffix, json=body, headers={"If-Match": stale}
        )
        assert refused.status_code == 412, stale
        assert refused.headers["etag"] == '"2"'
        assert "changed" in refused.json()["detail"]
    assert await snapshot() == before

    # A list naming the current version matches; so does `*`, for any version.
    for matching in ('"1", "2"', "*"):
        accepted = await as_alice.request(
            method, url(task) + suffix, json=body, headers={"If-Match": matching}
        )
        if method == "DELETE":
            assert accepted.status_code == 204
            assert (await as_alice.get(url(task))).status_code == 404
            break
        assert accepted.status_code == 200, matching
        assert accepted.headers["etag"] == f'"{accepted.json()["version"]}"'


async def test_a_delete_with_the_current_version_goes_and_with_a_stale_one_stays(
    as_alice: httpx.AsyncClient, task: dict[str, Any]
) -> None:
    assert (await as_alice.delete(url(task), headers={"If-Match": '"2"'})).status_code == 412
    assert (await as_alice.delete(url(task), headers={"If-Match": '"1"'})).status_code == 204
    assert (await as_alice.get(url(task))).status_code == 404


async def test_if_match_on_a_missing_task_is_a_404_and_without_it_the_last_write_wins(
    as_alice: httpx.AsyncClient, alice: str, task: dict[str, Any]
) -> None:
    missing = f"/api/{alice}/tasks/999999999"
    for if_match in ('"1"', "*"):
        response = await as_alice.patch(
            missing, json={"title": "x"}, headers={"If-Match": if_match}
        )
        assert response.status_code == 404
    await as_alice.patch(url(task), json={"title": "first"})
    blind = await as_alice.patch(url(task), json={"title": "second"})  # the seed's clients
    assert (blind.status_code, blind.json()["title"], blind.json()["version"]) == (200, "second", 3)


async def test_of_two_concurrent_writes_with_the_same_if_match_exactly_one_succeeds(
    as_alice: httpx.AsyncClient, task: dict[str, Any]
) -> None:
    async def write(n: int) -> httpx.Response:
        return await as_alice.patch(
            url(task), json={"title": f"writer {n}"}, headers={"If-Match": '"1"'}
        )

    answers = await asyncio.gather(*(write(n) for n in range(8)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [412] * 7
    (winner,) = (a for a in answers if a.status_code == 200)
    stored = (await as_alice.get(url(task))).json()
    assert (stored["title"], stored["version"]) == (winner.json()["title"], 2)


async def test_a_read_with_the_current_etag_is_a_304_without_a_body(
    as_alice: httpx.AsyncClient, task: dict[str, Any]
) -> None:
    unchanged = await as_alice.get(url(task), headers={"If-None-Match": '"1"'})
    assert (unchanged.status_code, unchanged.content, unchanged.headers["etag"]) == (
        304,
        b"",
        '"1"',
    )
    await as_alice.patch(url(task), json={"completed": True})
    changed = await as_alice.get(url(task), headers={"If-None-Match": '"1"'})
    assert (changed.status_code, changed.json()["version"]) == (200, 2)


async def test_another_users_task_stays_a_403_whatever_the_precondition(
    as_alice: httpx.AsyncClient, bob_task: dict[str, Any], snapshot: Snapshot
) -> None:
    before = await snapshot()
    for if_match in ('"1"', '"2"', "*"):
        response = await as_alice.patch(
            url(bob_task), json={"title": "x"}, headers={"If-Match": if_match}
        )
        assert response.status_code == 403
    assert await snapshot() == before

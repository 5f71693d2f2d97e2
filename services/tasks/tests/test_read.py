"""GET /api/{user_id}/tasks/{task_id}, and task ids that are not ids on every task route."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

BAD_IDS = ["0", "-1", "abc", "1.5", "1e3", "99999999999999999999", str(2**63), "%00", " 1"]
METHODS = [("GET", ""), ("PUT", ""), ("PATCH", ""), ("PATCH", "/complete"), ("DELETE", "")]


async def test_read_own_task(as_alice: httpx.AsyncClient, alice: str) -> None:
    created = (await as_alice.post(f"/api/{alice}/tasks", json={"title": "t"})).json()
    response = await as_alice.get(f"/api/{alice}/tasks/{created['id']}")
    assert response.status_code == 200
    assert response.json() == created


async def test_missing_task_is_404(as_alice: httpx.AsyncClient, alice: str) -> None:
    response = await as_alice.get(f"/api/{alice}/tasks/{2**63 - 1}")
    assert response.status_code == 404
    assert response.json() == {"detail": "not found"}


async def test_deleted_task_is_404(as_alice: httpx.AsyncClient, alice: str) -> None:
    created = (await as_alice.post(f"/api/{alice}/tasks", json={"title": "t"})).json()
    await as_alice.delete(f"/api/{alice}/tasks/{created['id']}")
    assert (await as_alice.get(f"/api/{alice}/tasks/{created['id']}")).status_code == 404


@pytest.mark.parametrize("task_id", BAD_IDS)
@pytest.mark.parametrize(("method", "suffix"), METHODS)
async def test_ids_that_are_not_task_ids_are_400_or_404(
    as_alice: httpx.AsyncClient,
    alice: str,
    bob_task: dict[str, Any],
    method: str,
    suffix: str,
    task_id: str,
) -> None:
    body = {"title": "t"} if method in ("PUT", "PATCH") and not suffix else None
    response = await as_alice.request(method, f"/api/{alice}/tasks/{task_id}{suffix}", json=body)
    assert response.status_code in (400, 404)
    if response.status_code == 400:
        assert response.json()["detail"][0]["loc"] == ["path", "task_id"]

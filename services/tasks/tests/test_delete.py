"""DELETE /api/{user_id}/tasks/{task_id}."""

from __future__ import annotations

from typing import Any

import httpx


async def test_delete_is_204_then_the_task_is_gone(
    as_alice: httpx.AsyncClient, alice: str, bob_task: dict[str, Any]
) -> None:
    keep = (await as_alice.post(f"/api/{alice}/tasks", json={"title": "keep"})).json()
    drop = (await as_alice.post(f"/api/{alice}/tasks", json={"title": "drop"})).json()
    response = await as_alice.delete(f"/api/{alice}/tasks/{drop['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert (await as_alice.get(f"/api/{alice}/tasks/{drop['id']}")).status_code == 404
    listed = await as_alice.get(f"/api/{alice}/tasks")
    assert listed.json() == [keep]
    assert listed.headers["x-total-count"] == "1"


async def test_deleting_twice_is_404(as_alice: httpx.AsyncClient, alice: str) -> None:
    task = (await as_alice.post(f"/api/{alice}/tasks", json={"title": "t"})).json()
    assert (await as_alice.delete(f"/api/{alice}/tasks/{task['id']}")).status_code == 204
    second = await as_alice.delete(f"/api/{alice}/tasks/{task['id']}")
    assert second.status_code == 404
    assert second.json() == {"detail": "not found"}

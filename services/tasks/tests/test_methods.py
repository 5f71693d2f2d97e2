"""A method a path does not accept is a 405 naming every method it does (RFC 9110).

Found by schemathesis: Starlette's 405 named only the first route's method (`Allow: GET`),
since FastAPI makes one route per method.
"""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize(
    ("suffix", "allowed"),
    [("", "GET, HEAD, POST"), ("/1", "DELETE, GET, HEAD, PATCH, PUT"), ("/1/complete", "PATCH")],
)
async def test_an_unsupported_method_is_405_with_every_allowed_method(
    anonymous: httpx.AsyncClient, alice: str, suffix: str, allowed: str
) -> None:
    for method in ("OPTIONS", "TRACE", "POST" if suffix else "DELETE"):
        response = await anonymous.request(method, f"/api/{alice}/tasks{suffix}")
        assert response.status_code == 405, method
        assert response.headers["Allow"] == allowed, method
        assert response.json() == {"detail": "method not allowed"}

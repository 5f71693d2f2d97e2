"""The front end's Better Auth through the proxy: accounts under /auth, EdDSA tokens for the
public URL whose keys /auth/jwks publishes, and a production server that refuses a placeholder
secret."""

from __future__ import annotations

import uuid

import httpx
import jwt
import pytest

from tests.e2e.stack import PASSWORD, Stack


def _origin(stack: Stack) -> str:
    return str(stack.client.base_url).rstrip("/")


def test_sign_up_then_the_token_endpoint_issues_an_eddsa_jwt_the_tasks_service_accepts(
    stack: Stack,
) -> None:
    origin = _origin(stack)
    email = f"web-{uuid.uuid4().hex[:12]}@example.com"
    with httpx.Client(base_url=origin, headers={"Origin": origin}, timeout=15) as browser:
        assert browser.get("/auth/token").status_code == 401  # no session yet
        signed_up = browser.post(
            "/auth/sign-up/email", json={"email": email, "password": PASSWORD, "name": "web"}
        )
        assert signed_up.status_code == 200, signed_up.text
        user_id = signed_up.json()["user"]["id"]
        token = browser.get("/auth/token").json()["token"]

    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA"
    keys = {key["kid"]: key for key in stack.client.get("/auth/jwks").json()["keys"]}
    claims = jwt.decode(
        token,
        jwt.PyJWK(keys[header["kid"]]).key,
        algorithms=["EdDSA"],
        audience=origin,
        issuer=f"{origin}/auth",
    )
    assert claims["sub"] == user_id
    assert claims["email"] == email
    # The auth service's issuer is the bare public URL: the two account systems never share one.
    assert claims["iss"] != origin

    # The tasks service trusts this issuer too.
    created = stack.client.post(
        f"/api/{user_id}/tasks",
        json={"title": "from the browser's account"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201


def test_a_sign_up_from_a_foreign_origin_is_refused_and_creates_nothing(stack: Stack) -> None:
    origin = _origin(stack)
    email = f"web-{uuid.uuid4().hex[:12]}@example.com"
    refused = stack.client.post(
        "/auth/sign-up/email",
        json={"email": email, "password": PASSWORD, "name": "web"},
        headers={"Origin": "http://evil.example"},
    )
    assert refused.status_code == 403
    signed_in = stack.client.post(
        "/auth/sign-in/email",
        json={"email": email, "password": PASSWORD},
        headers={"Origin": origin},
    )
    assert signed_in.status_code == 401


def test_production_refuses_a_placeholder_secret(stack: Stack) -> None:
    with pytest.raises(RuntimeError, match="BETTER_AUTH_SECRET is a placeholder"):
        stack.run(
            "run",
            "--rm",
            "--no-deps",
            "--env",
            "BETTER_AUTH_SECRET=insecure-local-better-auth-secret-for-development",
            "frontend",
            timeout=120,
        )

"""The front end's Better Auth through the proxy: accounts under /auth, EdDSA tokens for the
public URL whose keys /auth/jwks publishes, a production server that refuses a placeholder
secret, and migrations that two replicas apply once."""

from __future__ import annotations

import os
import subprocess
import uuid

import httpx
import jwt
import pytest

from tests.e2e.stack import PASSWORD, Stack, wait_until


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


def test_two_replicas_starting_on_an_empty_database_migrate_it_once(stack: Stack) -> None:
    """Both queue on the advisory lock: one creates the tables and the signing key, the other
    finds them, and the database ends with one key (two would be published unevenly)."""
    database = f"frontend_race_{uuid.uuid4().hex[:8]}"
    user = os.environ.get("POSTGRES_USER", "todo")
    password = os.environ["POSTGRES_PASSWORD"]
    stack.run("exec", "-T", "postgres", "createdb", "-U", user, database)
    url = f"postgresql://{user}:{password}@postgres:5432/{database}"
    replicas = [
        stack.run("run", "--detach", "--no-deps", "--env", f"DATABASE_URL={url}", "frontend")
        .strip()
        .splitlines()[-1]
        for _ in range(2)
    ]
    try:

        def outcomes() -> list[str] | None:
            logs = [_logs(replica) for replica in replicas]
            found = [line for log in logs for line in log.splitlines() if "migrations:" in line]
            return found if len(found) == 2 else None

        lines = wait_until(outcomes, 120, "both replicas to report their migrations")
        assert sorted(line.split("migrations: ")[1].split(" ")[0] for line in lines) == [
            "applied",
            "up",
        ]
        keys = stack.run(
            "exec",
            "-T",
            "postgres",
            "psql",
            "-U",
            user,
            "-d",
            database,
            "-tAc",
            "SELECT count(*) FROM jwks",
        )
        assert keys.strip() == "1"
    finally:
        subprocess.run(["docker", "rm", "--force", *replicas], capture_output=True, check=False)
        stack.run("exec", "-T", "postgres", "dropdb", "-U", user, "--force", database)


def _logs(container: str) -> str:
    result = subprocess.run(
        ["docker", "logs", container], capture_output=True, text=True, timeout=30, check=True
    )
    return result.stdout + result.stderr


def test_the_favicon_is_served_and_linked_from_every_page(stack: Stack) -> None:
    icon = stack.client.get("/favicon.ico")
    page = stack.client.get("/")

    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/")
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert 'rel="icon" href="/favicon.ico' in page.text

"""Tokens minted by the real Better Auth `jwt` plugin verify unchanged; tampered copies do not.

Runs `server.mjs` (better-auth pinned in package.json / package-lock.json) with Node on
127.0.0.1, installing its node_modules with `npm ci` when they are missing or out of date.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from todo_shared.settings import VerifierSettings
from todo_shared.tokens import InvalidToken, TokenVerifier

HERE = Path(__file__).parent
START_TIMEOUT_SECONDS = 30


def _installed_version() -> str | None:
    manifest = HERE / "node_modules" / "better-auth" / "package.json"
    if not manifest.exists():
        return None
    version: str = json.loads(manifest.read_text())["version"]
    return version


def _install_node_modules() -> None:
    pinned = json.loads((HERE / "package.json").read_text())["dependencies"]["better-auth"]
    if _installed_version() == pinned:
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is required for the Better Auth interop test (Node 20+)")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=HERE,
        check=True,
        timeout=600,
    )


@pytest.fixture(scope="session")
def better_auth_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a running Better Auth server (it prints its port once listening)."""
    _install_node_modules()
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is required for the Better Auth interop test (Node 20+)")
    out = tmp_path_factory.mktemp("better-auth") / "server.log"
    env = {**os.environ, "BETTER_AUTH_SECRET": secrets.token_hex(32)}
    with out.open("wb") as log:
        process = subprocess.Popen(
            [node, "server.mjs"], cwd=HERE, stdout=log, stderr=subprocess.STDOUT, env=env
        )
    try:
        yield f"http://127.0.0.1:{_wait_for_port(process, out)}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_port(process: subprocess.Popen[bytes], out: Path) -> int:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for line in out.read_text().splitlines():
            if line.startswith('{"port"'):
                port: int = json.loads(line)["port"]
                return port
        if process.poll() is not None:
            break
        time.sleep(0.05)
    pytest.fail(f"Better Auth server did not start:\n{out.read_text()}")


@pytest.fixture
def better_auth_verifier(
    better_auth_url: str, redis_url: str, make_verifier: Callable[..., TokenVerifier]
) -> TokenVerifier:
    """Configured as the tasks service would be behind a Better Auth front end."""
    settings = VerifierSettings(
        _env_file=None,
        environment="test",
        jwks_url=f"{better_auth_url}/api/auth/jwks",
        jwt_issuer=better_auth_url,
        jwt_audience=better_auth_url,
        jwks_allow_http_hosts="127.0.0.1",
        redis_url=redis_url,
        jwks_redis_key=f"test:jwks:{uuid.uuid4().hex}",
    )
    return make_verifier(settings)


async def _sign_up_and_get_token(base_url: str) -> tuple[str, str]:
    """Sign a user up like the Next.js front end does; returns (user id, JWT)."""
    async with httpx.AsyncClient(base_url=base_url, headers={"Origin": base_url}) as client:
        signup = await client.post(
            "/api/auth/sign-up/email",
            json={
                "email": f"interop-{uuid.uuid4().hex[:8]}@example.com",
                "password": "correct-horse-battery",
                "name": "Interop",
            },
        )
        assert signup.status_code == 200, signup.text
        token = await client.get("/api/auth/token")  # the session cookie authenticates this
        assert token.status_code == 200, token.text
        return signup.json()["user"]["id"], token.json()["token"]


def _with_payload(token: str, **changes: object) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = json.dumps({**claims, **changes}).encode()
    return f"{header}.{base64.urlsafe_b64encode(forged).rstrip(b'=').decode()}.{signature}"


def _with_signature_bit_flipped(token: str) -> str:
    signing_input, _, signature = token.rpartition(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 1
    return f"{signing_input}.{base64.urlsafe_b64encode(bytes(raw)).rstrip(b'=').decode()}"


async def test_better_auth_token_is_accepted_and_tampered_copies_refused(
    better_auth_url: str, better_auth_verifier: TokenVerifier
) -> None:
    user_id, token = await _sign_up_and_get_token(better_auth_url)

    verified = await better_auth_verifier.verify(token)

    assert verified.subject == user_id
    assert verified.claims["iss"] == verified.claims["aud"] == better_auth_url
    for tampered in (
        _with_payload(token, sub="someone-else"),
        _with_payload(token, exp=int(time.time()) + 10 * 365 * 86400),
        _with_signature_bit_flipped(token),
    ):
        with pytest.raises(InvalidToken, match="bad signature"):
            await better_auth_verifier.verify(tampered)

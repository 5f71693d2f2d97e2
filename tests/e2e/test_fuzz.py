"""Schemathesis against the live stack through the proxy: every operation of both documents,
every check, a bounded number of examples. Nothing may fail: no 5xx, no response outside its
schema, no undocumented status or header, no invalid input accepted or valid input refused.

A failure prints schemathesis' report with a `curl` line that reproduces it; fix the service
(or the document) and add a regression test next to the operation's other tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.stack import Stack

CONFIG = Path(__file__).with_name("schemathesis.toml")
# Per operation and phase; enough to cover every documented status in a few minutes.
MAX_EXAMPLES = 25
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.mark.parametrize("document", ["/api/openapi.json", "/api/auth/openapi.json"])
def test_schemathesis_finds_nothing(stack: Stack, document: str, tmp_path: Path) -> None:
    user = stack.new_user()
    base = str(stack.client.base_url).rstrip("/")
    result = subprocess.run(
        [
            str(SCHEMATHESIS),
            "--config-file",
            str(CONFIG),
            "run",
            f"{base}{document}",
            "--url",
            base,
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            "1",
            # An event stream answers for as long as its token lives; its tests are its own.
            "--exclude-operation-id",
            "streamEvents",
            # Each would end the fuzzing user's session, and so every later request's token;
            # the auth suite (services/auth/tests/test_sessions.py) covers them.
            "--exclude-operation-id",
            "logout",
            "--exclude-operation-id",
            "logoutAll",
            "--workers",
            "1",
            "--header",
            f"Authorization: Bearer {user.token}",
            "--no-color",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "FUZZ_USER_ID": user.id},
        cwd=tmp_path,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]


def test_a_method_no_route_accepts_is_405_naming_the_allowed_methods(stack: Stack) -> None:
    """Found by schemathesis: nginx's own 405 (TRACE never reaches a service) had no `Allow`."""
    response = stack.client.request("TRACE", "/api/someone/tasks")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
    assert response.json() == {"detail": "method not allowed"}
